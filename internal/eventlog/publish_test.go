package eventlog

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestParsePubAck: the acknowledgements a stream writes, read with and
// without encoding/json, give the sequence or PublishMsg's errors.
func TestParsePubAck(t *testing.T) {
	const stream = "FILELINKS_EVENTS"
	for _, c := range []struct {
		in      string
		seq     uint64
		wrong   bool // a wrong-last-sequence refusal
		invalid bool
	}{
		{in: `{"stream":"FILELINKS_EVENTS","seq":1}`, seq: 1},
		{in: `{"stream":"FILELINKS_EVENTS","seq":18446744073709551615}`, seq: 18446744073709551615},
		{in: `{"stream":"FILELINKS_EVENTS","seq":42,"duplicate":true}`, seq: 42},
		{in: `{"stream":"FILELINKS_EVENTS","seq":7,"domain":"hub"}`, seq: 7},
		{in: `{"stream":"OTHER","seq":9}`, seq: 9}, // another stream: encoding/json reads it
		{in: ` {"seq":5,"stream":"FILELINKS_EVENTS"}`, seq: 5},
		{in: `{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"},"stream":"FILELINKS_EVENTS","seq":0}`, wrong: true},
		{in: `{"stream":"FILELINKS_EVENTS","seq":}`, invalid: true},
		{in: `{"stream":"FILELINKS_EVENTS","seq":12x}`, invalid: true},
		{in: `{"seq":3}`, invalid: true},
		{in: ``, invalid: true},
		{in: `nope`, invalid: true},
	} {
		seq, err := parsePubAck([]byte(c.in), stream)
		switch {
		case c.wrong:
			if !isWrongLastSequence(err) {
				t.Errorf("%s: err %v, want wrong last sequence", c.in, err)
			}
		case c.invalid:
			if !errors.Is(err, jetstream.ErrInvalidJSAck) {
				t.Errorf("%s: %d, %v; want ErrInvalidJSAck", c.in, seq, err)
			}
		case err != nil || seq != c.seq:
			t.Errorf("%s: %d, %v; want %d", c.in, seq, err, c.seq)
		}
	}
}
