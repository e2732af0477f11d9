package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sameAsReference fails unless UnmarshalEnvelope and DecodeLinkView return
// what the reference decoding (encoding/json into Envelope, then check)
// returns for b, and unless parseEnvelope, when it accepts b, decodes it as
// encoding/json does. It reports whether parseEnvelope accepted b.
func sameAsReference(t *testing.T, b []byte) (fast bool) {
	t.Helper()
	want, werr := unmarshalEnvelopeJSON(b)
	got, gerr := UnmarshalEnvelope(b)
	sameErr(t, "UnmarshalEnvelope", b, gerr, werr)
	if werr == nil && !sameEnvelope(got, want) {
		t.Fatalf("UnmarshalEnvelope(%s)\n got %+v\nwant %+v", b, got, want)
	}

	v := LinkView{Metadata: make([]MetadataEntry, 1, 4)} // memory of an earlier event
	verr := DecodeLinkView(b, &v)
	sameErr(t, "DecodeLinkView", b, verr, werr)
	if werr == nil {
		sameView(t, b, &v, &want)
	}

	var env Envelope
	fast = parseEnvelope(b, &env)
	var scratch Envelope
	vp := parser{b: b, view: &LinkView{}}
	if vp.envelope(&scratch) != fast {
		t.Fatalf("parseEnvelope accepted %s: %v, the parser of a LinkView: %v", b, fast, !fast)
	}
	if !fast {
		return false
	}
	var std Envelope
	if err := json.Unmarshal(b, &std); err != nil {
		t.Fatalf("parseEnvelope accepted %s, which encoding/json refuses: %v", b, err)
	}
	if !sameEnvelope(env, std) {
		t.Fatalf("parseEnvelope(%s)\n got %+v\nwant %+v", b, env, std)
	}
	return true
}

func sameErr(t *testing.T, name string, b []byte, got, want error) {
	t.Helper()
	switch {
	case (got == nil) != (want == nil):
		t.Fatalf("%s(%s): err %v, reference err %v", name, b, got, want)
	case want != nil && (got.Error() != want.Error() || errors.Is(got, ErrMalformed) != errors.Is(want, ErrMalformed) ||
		errors.Is(got, ErrUnsupported) != errors.Is(want, ErrUnsupported)):
		t.Fatalf("%s(%s): err %v, reference err %v", name, b, got, want)
	}
}

// sameView fails unless v says what env says.
func sameView(t *testing.T, b []byte, v *LinkView, env *Envelope) {
	t.Helper()
	l := &env.Link
	for i, c := range []struct {
		got  NullTime
		want *time.Time
	}{{v.ExpiresAt, l.ExpiresAt}, {v.ExpiredAt, l.ExpiredAt}, {v.DeletedAt, l.DeletedAt}} {
		if c.got.Valid != (c.want != nil) || c.want != nil && !c.got.Time.Equal(*c.want) {
			t.Fatalf("DecodeLinkView(%s): time %d = %+v, want %v", b, i, c.got, c.want)
		}
	}
	md := map[string]string{}
	for i, e := range v.Metadata {
		if i > 0 && bytes.Compare(v.Metadata[i-1].Key, e.Key) >= 0 {
			t.Fatalf("DecodeLinkView(%s): metadata not sorted by key, one per key: %q", b, v.Metadata)
		}
		md[string(e.Key)] = string(e.Value)
	}
	switch {
	case v.Type != env.Type || v.LinkID != env.LinkID || v.Mode != env.Mode || v.Version != env.Version || !v.Created.Equal(l.Created):
		t.Fatalf("DecodeLinkView(%s): %+v, want %+v", b, v, env)
	case string(v.FileID) != l.FileID || string(v.Token) != l.Token || len(md) != len(l.Metadata) || len(md) > 0 && !reflect.DeepEqual(md, l.Metadata):
		t.Fatalf("DecodeLinkView(%s): link parts %q %q %v, want %q %q %v", b, v.FileID, v.Token, md, l.FileID, l.Token, l.Metadata)
	}
}

func sameEnvelope(a, b Envelope) bool {
	if !bytes.Equal(a.Data, b.Data) {
		return false
	}
	a.Data, b.Data = nil, nil
	return reflect.DeepEqual(a, b)
}

// seedEvents are events of every type and shape Marshal writes.
func seedEvents() []Event {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := t0.Add(24 * time.Hour)
	later := t0.Add(90*time.Minute + 123456789)
	tok := "link_1.Xy7-q_0ce3Fq5W4fQ2kXa9LmPq7RtZ0ce3Fq5W4fQ"
	state := func(v uint64, mode Mode, exp, expired, deleted *time.Time, md map[string]string) LinkState {
		return LinkState{ID: "link_1", Mode: mode, FileID: "file_1", Token: tok, Created: t0, ExpiresAt: exp,
			ExpiredAt: expired, DeletedAt: deleted, Metadata: md, Version: v}
	}
	env := func(v uint64, mode Mode, at time.Time, a Audit, l LinkState) Envelope {
		return Envelope{ID: "evt_" + string(rune('0'+v)), LinkID: "link_1", Mode: mode, Version: v, Time: at, Audit: a, Link: l}
	}
	api := Audit{Actor: "api"}
	return []Event{
		// The first is the seed of the edits in envelopeSeeds.
		{env(1, ModeTest, t0, api, state(1, ModeTest, &exp, nil, nil, map[string]string{"n": "0"})),
			LinkCreated{FileID: "file_1", Token: tok, ExpiresAt: &exp, Metadata: map[string]string{"n": "0"}}},
		{env(1, ModeLive, t0, Audit{Actor: "api", KeyID: "kh_ab12", RequestID: "req_1", IdempotencyKey: "idem_1"},
			state(1, ModeLive, nil, nil, nil, nil)), LinkCreated{FileID: "file_1", Token: tok}},
		{env(2, ModeLive, later, api, state(2, ModeLive, &later, nil, nil, map[string]string{"ü": "ẞ", "a": "b", "order": "ord_1"})),
			LinkUpdated{ExpiresAt: &later, MetadataSet: map[string]string{"ü": "ẞ", "a": "b"}, MetadataUnset: []string{"c"}}},
		{env(3, ModeLive, later, api, state(3, ModeLive, nil, nil, nil, map[string]string{})),
			LinkUpdated{ExpiresAtCleared: true, MetadataCleared: true}},
		{env(4, ModeTest, exp, Audit{Actor: "expirer"}, state(4, ModeTest, &exp, &exp, nil, map[string]string{})),
			LinkExpired{Reason: ReasonDeadline, Deadline: exp}},
		{env(5, ModeTest, later, api, state(5, ModeTest, &exp, &exp, &later, map[string]string{"k": "v"})), LinkDeleted{}},
	}
}

// envelopeSeeds are the events of seedEvents as Marshal writes them, then
// variants that parseEnvelope must either decode exactly or leave to
// encoding/json.
func envelopeSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, e := range seedEvents() {
		b, err := Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	created := string(seeds[0])
	edit := func(old, new string) []byte {
		if !strings.Contains(created, old) {
			tb.Fatalf("seed has no %q: %s", old, created)
		}
		return []byte(strings.Replace(created, old, new, 1))
	}
	// editLink edits the last occurrence, in the link's state rather than
	// in the payload.
	editLink := func(old, new string) []byte {
		i := strings.LastIndex(created, old)
		if i < 0 || i < strings.Index(created, `"link":{`) {
			tb.Fatalf("seed's link has no %q: %s", old, created)
		}
		return []byte(created[:i] + new + created[i+len(old):])
	}
	indented, err := json.MarshalIndent(json.RawMessage(seeds[0]), "", "\t")
	if err != nil {
		tb.Fatal(err)
	}
	seeds = append(seeds, indented, []byte(" \r\n"+created+" \n"))
	for _, md := range [][2]string{
		{`"n":"0"`, `"n":"caf\u00e9 \u2713"`},
		{`"n":"0"`, `"n":"café ✓"`},
		{`"n":"0"`, `"n":"a\"b"`},
		{`"n":"0"`, `"n":"\xff"`},
		{`"n":"0"`, "\"n\":\"\xff\""},
		{`"n":"0"`, "\"n\":\"\xed\xa0\x80\""},
		{`"n":"0"`, `"n":"\ud800"`},
		{`"n":"0"`, `"n":0`},
		{`"n":"0"`, `"n":null`},
		{`"n":"0"`, `"n":"0","n":"1"`},
		{`"n":"0"`, `"z":"1","n":"0","a":"2","n":"3"`},
		{`"metadata":{"n":"0"}`, `"metadata":null`},
		{`"metadata":{"n":"0"}`, `"metadata":{}`},
		{`"metadata":{"n":"0"}`, `"metadata":[]`},
	} {
		seeds = append(seeds, edit(md[0], md[1]), editLink(md[0], md[1]))
	}
	return append(seeds,
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
		edit(`"id":"evt_1"`, `"id":""`),
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
		editLink(`"file_id":"file_1"`, `"file_id":"file_\u0031"`),
		editLink(`"token":"link_1.`, `"token":"link_2.`),
		editLink(`"id":"link_1"`, `"id":"link_2"`),
		editLink(`"version":1`, `"version":2`),
		editLink(`"expires_at":"`, `"expires_at":null,"x":"`),
		edit(`"expired_at":null`, `"expired_at":"2026-02-29T00:00:00Z"`),
		edit(`"expired_at":null`, `"expired_at":"2028-02-29T23:59:59.000000001Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:00.1234567891Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:00+01:00"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:60Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01t12:00:00Z"`),
		edit(`"expired_at":null`, `"expired_at":"2026-03-01T12:00:00.Z"`),
		edit(`"expired_at":null`, `"expired_at":1772366400`),
		edit(`"deleted_at":null`, `"deleted_at":"0000-01-01T00:00:00Z"`),
		edit(`"deleted_at":null`, `"deleted_at":"0001-01-01T00:00:00Z"`),
		edit(`"time":"`, `"time":null,"x":"`),
		[]byte(created+"x"),
		[]byte(created[:len(created)/2]),
		[]byte("null"),
		[]byte("{}"),
		[]byte(""),
	)
}

func TestUnmarshalEnvelope(t *testing.T) {
	fast := 0
	seeds := envelopeSeeds(t)
	for _, b := range seeds {
		if sameAsReference(t, b) {
			fast++
		}
	}
	// Every event Marshal writes takes the fast path.
	for _, e := range seedEvents() {
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var env Envelope
		if !parseEnvelope(b, &env) {
			t.Errorf("parseEnvelope refused an event Marshal writes: %s", b)
		}
	}
	t.Logf("%d of %d inputs decoded without encoding/json", fast, len(seeds))
}

// TestUnmarshalEnvelope_OwnsData: the envelope does not share memory with
// the bytes it was decoded from, which a reader may reuse.
func TestUnmarshalEnvelope_OwnsData(t *testing.T) {
	b := envelopeSeeds(t)[0]
	env, err := UnmarshalEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	want := string(env.Data)
	clear(b)
	if string(env.Data) != want {
		t.Fatalf("Data changed with the input: %q", env.Data)
	}
}

// TestDecodeLinkView_Allocs: a reader that reuses its LinkView allocates
// only the link id for an event the service writes.
func TestDecodeLinkView_Allocs(t *testing.T) {
	b := envelopeSeeds(t)[2] // a LinkUpdated with three metadata keys
	var v LinkView
	if n := testing.AllocsPerRun(100, func() {
		if err := DecodeLinkView(b, &v); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("DecodeLinkView allocated %v times per event, want at most 1", n)
	}
}

// FuzzUnmarshalEnvelope: UnmarshalEnvelope and DecodeLinkView behave
// exactly like encoding/json into the contract's types on any input.
//
//	go test ./events -run X -fuzz UnmarshalEnvelope
func FuzzUnmarshalEnvelope(f *testing.F) {
	for _, b := range envelopeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsReference(t, b)
	})
}

// serviceEvents are a LinkCreated and a LinkUpdated of the size the
// service writes, for the codec's benchmarks.
func serviceEvents() []Event {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := t0.Add(24 * time.Hour)
	id, tok := "link_0ce3Fq5W4fQ2kXa9LmPq7RtZ", "link_0ce3Fq5W4fQ2kXa9LmPq7RtZ.Xy7-q_0ce3Fq5W4fQ2kXa9LmPq7RtZ0ce3Fq5W4fQ"
	md := map[string]string{"order": "ord_123456", "customer": "cus_4711"}
	state := LinkState{ID: id, Mode: ModeLive, FileID: "file_0ce3Fq5W4fQ2kXa9LmPq", Token: tok, Created: t0, ExpiresAt: &exp, Metadata: md, Version: 1}
	created := Event{Envelope: Envelope{ID: "evt_0ce3Fq5W4fQ2kXa9LmPq7RtZ", LinkID: id, Mode: ModeLive, Version: 1, Time: t0,
		Audit: Audit{Actor: "api", KeyID: "kh_ab12cd34", RequestID: "req_0ce3Fq5W4fQ2kXa9"}, Link: state},
		Payload: LinkCreated{FileID: state.FileID, Token: tok, ExpiresAt: &exp, Metadata: md}}
	updated := created
	updated.ID, updated.Version, updated.Time = "evt_0ce3Fq5W4fQ2kXa9LmPq7RtY", 2, t0.Add(time.Second)
	updated.Link.Version, updated.Link.Metadata = 2, map[string]string{"order": "ord_123456", "customer": "cus_4711", "status": "s1"}
	updated.Payload = LinkUpdated{MetadataSet: map[string]string{"status": "s1"}}
	return []Event{created, updated}
}

// BenchmarkUnmarshalEnvelope decodes a LinkCreated and a LinkUpdated of
// the size the service writes, with UnmarshalEnvelope, with DecodeLinkView
// into a reused view, and with encoding/json alone (the reference):
//
//	go test ./events -run X -bench UnmarshalEnvelope -benchmem
func BenchmarkUnmarshalEnvelope(b *testing.B) {
	var view LinkView
	for _, e := range serviceEvents() {
		data, err := Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			decode func([]byte) error
		}{
			{"UnmarshalEnvelope", func(b []byte) error { _, err := UnmarshalEnvelope(b); return err }},
			{"DecodeLinkView", func(b []byte) error { return DecodeLinkView(b, &view) }},
			{"EncodingJSON", func(b []byte) error { _, err := unmarshalEnvelopeJSON(b); return err }},
		} {
			b.Run(e.Payload.EventType()+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.decode(data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
