package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/events"
)

// sameAsContract fails unless decodeEnvelope(b) returns what
// events.UnmarshalEnvelope(b) returns, and unless parseEnvelope, when it
// accepts b, decodes it as encoding/json does.
func sameAsContract(t *testing.T, b []byte) (fast bool) {
	t.Helper()
	want, werr := events.UnmarshalEnvelope(b)
	got, gerr := decodeEnvelope(b)
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("decodeEnvelope(%s): err %v, contract's err %v", b, gerr, werr)
	case werr != nil:
		if gerr.Error() != werr.Error() || errors.Is(gerr, events.ErrMalformed) != errors.Is(werr, events.ErrMalformed) {
			t.Fatalf("decodeEnvelope(%s): err %v, contract's err %v", b, gerr, werr)
		}
	default:
		if !sameEnvelope(got, want) {
			t.Fatalf("decodeEnvelope(%s)\n got %+v\nwant %+v", b, got, want)
		}
	}

	var env events.Envelope
	if !parseEnvelope(b, &env) {
		var lean leanLink
		if parseLean(b, &env, &lean) {
			t.Fatalf("parseLean accepted %s, which parseEnvelope refuses", b)
		}
		return false
	}
	sameLean(t, b, &env)
	var std events.Envelope
	if err := json.Unmarshal(b, &std); err != nil {
		t.Fatalf("parseEnvelope accepted %s, which encoding/json refuses: %v", b, err)
	}
	if !sameEnvelope(env, std) {
		t.Fatalf("parseEnvelope(%s)\n got %+v\nwant %+v", b, env, std)
	}
	return true
}

// sameLean fails unless parseLean reads b as parseEnvelope read it into
// full.
func sameLean(t *testing.T, b []byte, full *events.Envelope) {
	t.Helper()
	var env events.Envelope
	lean := leanLink{md: make([]metaEntry[[]byte], 0, 1)}
	if !parseLean(b, &env, &lean) {
		t.Fatalf("parseLean refused %s, which parseEnvelope accepts", b)
	}
	l := &full.Link
	var md map[string]string
	if l.Metadata != nil || len(lean.md) > 0 {
		md = map[string]string{}
		for _, e := range sortMetadata(lean.md) {
			md[string(e.k)] = string(e.v)
		}
	}
	times := [3]*time.Time{l.ExpiresAt, l.ExpiredAt, l.DeletedAt}
	for i, tm := range times {
		if (tm != nil) != lean.has[i] || tm != nil && !tm.Equal(lean.times[i]) {
			t.Fatalf("parseLean(%s): time %d = %v %v, want %v", b, i, lean.has[i], lean.times[i], tm)
		}
	}
	switch {
	case string(lean.fileID) != l.FileID || string(lean.token) != l.Token || len(md) != len(l.Metadata) ||
		md != nil && !reflect.DeepEqual(md, l.Metadata):
		t.Fatalf("parseLean(%s): link parts %q %q %v, want %q %q %v", b, lean.fileID, lean.token, md, l.FileID, l.Token, l.Metadata)
	case env.Schema != full.Schema || env.ID != full.ID || env.Type != full.Type || env.LinkID != full.LinkID ||
		env.Mode != full.Mode || env.Version != full.Version || !bytes.Equal(env.Data, full.Data) ||
		env.Link.ID != l.ID || env.Link.Mode != l.Mode || env.Link.Version != l.Version || env.Link.Created != l.Created:
		t.Fatalf("parseLean(%s): envelope %+v, want %+v", b, env, *full)
	}
}

func sameEnvelope(a, b events.Envelope) bool {
	if !bytes.Equal(a.Data, b.Data) {
		return false
	}
	a.Data, b.Data = nil, nil
	return reflect.DeepEqual(a, b)
}

// envelopeSeeds are the events of a history with every kind of event, as
// the service encodes them, then variants that parseEnvelope must either
// decode exactly or leave to the contract.
func envelopeSeeds(tb testing.TB) [][]byte {
	st := history(tb, 40)
	var seeds [][]byte
	for _, r := range st.recs {
		if !events.IsFileSubject(r.Subject) {
			seeds = append(seeds, r.Data)
		}
	}
	created := string(seeds[0])
	edit := func(old, new string) []byte {
		if !strings.Contains(created, old) {
			tb.Fatalf("seed has no %q: %s", old, created)
		}
		return []byte(strings.Replace(created, old, new, 1))
	}
	indented, err := json.MarshalIndent(json.RawMessage(seeds[0]), "", "\t")
	if err != nil {
		tb.Fatal(err)
	}
	return append(seeds,
		indented,
		[]byte(" \r\n"+created+" \n"),
		edit(`"n":"0"`, `"n":"caf\u00e9 \u2713"`),
		edit(`"n":"0"`, `"n":"café ✓"`),
		edit(`"n":"0"`, `"n":"a\"b"`),
		edit(`"n":"0"`, `"n":"\xff"`),
		edit(`"n":"0"`, "\"n\":\"\xff\""),
		edit(`"n":"0"`, "\"n\":\"\xed\xa0\x80\""),
		edit(`"n":"0"`, `"n":"\ud800"`),
		edit(`"n":"0"`, `"n":0`),
		edit(`"n":"0"`, `"n":null`),
		edit(`"n":"0"`, `"n":"0","n":"1"`),
		edit(`"n":"0"`, `"z":"1","n":"0","a":"2","n":"3"`),
		edit(`"metadata":{"n":"0"}`, `"metadata":null`),
		edit(`"metadata":{"n":"0"}`, `"metadata":{}`),
		edit(`"metadata":{"n":"0"}`, `"metadata":[]`),
		edit(`"schema":1`, `"schema":1.0`),
		edit(`"schema":1`, `"schema":1e0`),
		edit(`"schema":1`, `"schema":-1`),
		edit(`"schema":1`, `"schema":01`),
		edit(`"schema":1`, `"schema":2`),
		edit(`"schema":1`, `"schema":"1"`),
		edit(`"schema":1`, `"Schema":1`),
		edit(`"schema":1`, `"schema":1,"schema":1`),
		edit(`"schema":1`, `"ſchema":1`),
		edit(`"schema":1`, `"schema":1,"trace":{"a":[1,-2.5e+3,true,false,null,"x\n"]}`),
		edit(`"schema":1`, `"schema":1,"trace":[`),
		edit(`"version":1`, `"version":18446744073709551615`),
		edit(`"version":1`, `"version":18446744073709551616`),
		edit(`"version":1`, `"version":0`),
		edit(`"mode":"test"`, `"mode":"prod"`),
		edit(`"type":"LinkCreated"`, `"type":"LinkRenamed"`),
		edit(`"type":"LinkCreated"`, `"type":"Link\u0043reated"`),
		edit(`"actor":"api"`, `"actor":"api","ip":"192.0.2.1"`),
		edit(`"actor":"api"`, `"Actor":"api"`),
		edit(`"actor":"api"`, `"actor":null`),
		edit(`"audit":{"actor":"api"}`, `"audit":"api"`),
		edit(`"data":{`, `"data":  {`),
		edit(`"data":{`, `"data":null,"x":{`),
		edit(`"link":{`, `"link":{"url":"https://x",`),
		edit(`"link":{`, `"link":{"ID":"x",`),
		edit(`"expired_at":null`, `"expired_at":"2026-02-29T00:00:00Z"`),
		edit(`"expired_at":null`, `"expired_at":"2028-02-29T23:59:59.000000001Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:00.1234567891Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:00+01:00"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:60Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01t12:00:00Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:00.Z"`),
		edit(`"expired_at":null`, `"expired_at":1772366400`),
		edit(`"deleted_at":null`, `"deleted_at":"0000-01-01T00:00:00Z"`),
		edit(`"time":"`, `"time":null,"x":"`),
		[]byte(created+"x"),
		[]byte(created[:len(created)/2]),
		[]byte("null"),
		[]byte("{}"),
		[]byte(""),
	)
}

func TestDecodeEnvelope(t *testing.T) {
	fast := 0
	seeds := envelopeSeeds(t)
	for _, b := range seeds {
		if sameAsContract(t, b) {
			fast++
		}
	}
	// Every event the service writes takes the fast path.
	st := history(t, 40)
	for _, r := range st.recs {
		var env events.Envelope
		if !events.IsFileSubject(r.Subject) && !parseEnvelope(r.Data, &env) {
			t.Errorf("parseEnvelope refused an event the service writes: %s", r.Data)
		}
	}
	t.Logf("%d of %d inputs decoded without encoding/json", fast, len(seeds))
}

// FuzzDecodeEnvelope: decodeEnvelope behaves exactly like the contract's
// events.UnmarshalEnvelope on any input.
//
//	go test ./projections -run X -fuzz DecodeEnvelope
func FuzzDecodeEnvelope(f *testing.F) {
	for _, b := range envelopeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsContract(t, b)
	})
}
