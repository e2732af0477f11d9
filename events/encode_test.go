package events

import (
	"bytes"
	"testing"
	"time"
)

// sameAsReflect fails unless Marshal writes what encoding/json writes for
// e, error for error.
func sameAsReflect(t *testing.T, e Event) {
	t.Helper()
	got, gerr := Marshal(e)
	want, werr := marshalReflect(e)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("Marshal(%+v): err %v, encoding/json's err %v", e, gerr, werr)
	case !bytes.Equal(got, want):
		t.Fatalf("Marshal(%+v)\n got %s\nwant %s", e, got, want)
	}
}

// encodeEvents are events of every type with every optional field set and
// unset, and strings and times that need escaping or a fallback.
func encodeEvents(s string, n uint64, nanos int64) []Event {
	at := time.Unix(1_790_000_000, nanos%1e9).UTC()
	later := at.Add(time.Duration(n%1000) * time.Second)
	env := func(audit Audit, md map[string]string, exp, expired, deleted *time.Time) Envelope {
		return Envelope{
			Schema: 99, Type: "ignored", ID: "evt_" + s, LinkID: "link_" + s, Mode: Mode(s), Version: n, Time: at,
			Audit: audit,
			Link: LinkState{ID: s, Mode: ModeTest, FileID: "file_" + s, Token: s, Created: at, ExpiresAt: exp,
				ExpiredAt: expired, DeletedAt: deleted, Metadata: md, Version: n},
		}
	}
	audits := []Audit{{}, {Actor: "api"}, {Actor: s, KeyID: s, RequestID: "req_" + s, IdempotencyKey: s}, {IdempotencyKey: s}}
	mds := []map[string]string{nil, {}, {s: s, "a": "<&>", "z": s + "\u2028"}}
	payloads := []Payload{
		LinkCreated{FileID: s, Token: s},
		LinkCreated{FileID: s, Token: s, ExpiresAt: &later, Metadata: map[string]string{}},
		LinkCreated{Metadata: map[string]string{s: "1", "b" + s: "2"}},
		LinkUpdated{},
		LinkUpdated{ExpiresAt: &later},
		LinkUpdated{ExpiresAtCleared: true, MetadataCleared: true},
		LinkUpdated{MetadataSet: map[string]string{}, MetadataUnset: []string{}},
		LinkUpdated{MetadataSet: map[string]string{s: s}, MetadataUnset: []string{s, "x"}},
		LinkUpdated{ExpiresAt: &later, ExpiresAtCleared: true, MetadataCleared: true, MetadataSet: map[string]string{"k": s}, MetadataUnset: []string{s}},
		LinkExpired{Reason: s, Deadline: later},
		LinkExpired{},
		LinkDeleted{},
	}
	var out []Event
	for i, p := range payloads {
		a := audits[i%len(audits)]
		md := mds[i%len(mds)]
		var exp, expired, deleted *time.Time
		switch i % 4 {
		case 1:
			exp = &later
		case 2:
			exp, expired = &later, &at
		case 3:
			deleted = &later
		}
		out = append(out, Event{Envelope: env(a, md, exp, expired, deleted), Payload: p})
	}
	return out
}

func TestMarshalSameAsReflect(t *testing.T) {
	for _, s := range []string{"", "x", "ab_CD-12", `"quoted" \back\`, "<html>&", "\x00\x1f\n\t", "é✓\xff", "\u2028\u2029"} {
		for _, e := range encodeEvents(s, 7, 123_456_789) {
			sameAsReflect(t, e)
		}
	}
	// Times encoding/json writes otherwise or refuses: Marshal falls back
	// on it, with the same bytes or the same refusal.
	e := encodeEvents("x", 1, 0)[1]
	for _, at := range []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("plus1", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		e := e
		e.Time = at
		sameAsReflect(t, e)
		e.Link.ExpiresAt = &at
		sameAsReflect(t, e)
		e.Payload = LinkExpired{Deadline: at}
		sameAsReflect(t, e)
	}
	// A payload type of another package goes through encoding/json.
	e.Payload = otherPayload{V: "<x>"}
	sameAsReflect(t, e)
}

type otherPayload struct{ V string }

func (otherPayload) EventType() string { return "Other" }

// FuzzMarshal: go test ./events -run X -fuzz FuzzMarshal
func FuzzMarshal(f *testing.F) {
	f.Add("link_1", uint64(1), int64(0))
	f.Add("<&>\xff\u2028", uint64(1<<63), int64(999_999_999))
	f.Fuzz(func(t *testing.T, s string, n uint64, nanos int64) {
		if nanos < 0 {
			nanos = -nanos
		}
		for _, e := range encodeEvents(s, n, nanos) {
			sameAsReflect(t, e)
		}
	})
}

// BenchmarkMarshal encodes the events of serviceEvents with Marshal and
// with encoding/json alone (the reference, marshalReflect):
//
//	go test ./events -run X -bench Marshal -benchmem
func BenchmarkMarshal(b *testing.B) {
	for _, e := range serviceEvents() {
		for _, c := range []struct {
			name   string
			encode func(Event) ([]byte, error)
		}{{"Marshal", Marshal}, {"EncodingJSON", marshalReflect}} {
			b.Run(e.Payload.EventType()+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.encode(e); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
