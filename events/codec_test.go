package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/filelinks/filelinks/events"
)

var (
	t0  = utc(1, 12, 0, 0, 0)
	exp = utc(2, 12, 0, 0, 0)
)

// Schema-1 events as they are stored, written out by hand from the contract.
// They must keep decoding to the values in goldens for as long as events of
// schema 1 may be in a stream: never edit them to follow a code change.
const (
	goldenCreated = `{
  "schema": 1,
  "id": "evt_0001",
  "type": "LinkCreated",
  "link_id": "link_1",
  "mode": "live",
  "version": 1,
  "time": "2026-03-01T12:00:00Z",
  "audit": {"actor": "api", "key_id": "kh_ab12", "request_id": "req_1", "idempotency_key": "idem_1"},
  "data": {
    "file_id": "file_1",
    "token": "tok_secret",
    "expires_at": "2026-03-02T12:00:00Z",
    "metadata": {"order": "42"}
  },
  "link": {
    "id": "link_1",
    "mode": "live",
    "file_id": "file_1",
    "token": "tok_secret",
    "created": "2026-03-01T12:00:00Z",
    "expires_at": "2026-03-02T12:00:00Z",
    "expired_at": null,
    "deleted_at": null,
    "metadata": {"order": "42"},
    "version": 1
  }
}`
	goldenUpdated = `{"schema":1,"id":"evt_0002","type":"LinkUpdated","link_id":"link_1","mode":"live","version":2,` +
		`"time":"2026-03-01T12:05:00.5Z","audit":{"actor":"api"},` +
		`"data":{"expires_at_cleared":true,"metadata_cleared":true,"metadata_set":{"a":"1"},"metadata_unset":["b","c"]},` +
		`"link":{"id":"link_1","mode":"live","file_id":"file_1","token":"tok_secret","created":"2026-03-01T12:00:00Z",` +
		`"expires_at":null,"expired_at":null,"deleted_at":null,"metadata":{"a":"1"},"version":2}}`
	goldenExpired = `{"schema":1,"id":"evt_0003","type":"LinkExpired","link_id":"link_1","mode":"test","version":3,` +
		`"time":"2026-03-02T12:00:03Z","audit":{"actor":"expirer"},` +
		`"data":{"reason":"deadline","deadline":"2026-03-02T12:00:00Z"},` +
		`"link":{"id":"link_1","mode":"test","file_id":"file_1","token":"tok_secret","created":"2026-03-01T12:00:00Z",` +
		`"expires_at":"2026-03-02T12:00:00Z","expired_at":"2026-03-02T12:00:03Z","deleted_at":null,"metadata":{},"version":3}}`
	goldenDeleted = `{"schema":1,"id":"evt_0004","type":"LinkDeleted","link_id":"link_1","mode":"test","version":4,` +
		`"time":"2026-03-03T00:00:00Z","audit":{"actor":"api","key_id":"kh_ab12","request_id":"req_4"},` +
		`"data":{},` +
		`"link":{"id":"link_1","mode":"test","file_id":"file_1","token":"tok_secret","created":"2026-03-01T12:00:00Z",` +
		`"expires_at":"2026-03-02T12:00:00Z","expired_at":"2026-03-02T12:00:03Z","deleted_at":"2026-03-03T00:00:00Z","metadata":{},"version":4}}`
)

// utc returns the UTC time of 2026-03-dd hh:mm:ss.ns.
func utc(dd, hh, mm, ss, ns int) time.Time {
	return time.Date(2026, time.March, dd, hh, mm, ss, ns, time.UTC)
}

var goldens = []struct {
	name string
	json string
	want events.Event
}{
	{"LinkCreated", goldenCreated, events.Event{
		Envelope: events.Envelope{
			Schema: 1, ID: "evt_0001", Type: events.TypeLinkCreated, LinkID: "link_1", Mode: events.ModeLive, Version: 1, Time: t0,
			Audit: events.Audit{Actor: "api", KeyID: "kh_ab12", RequestID: "req_1", IdempotencyKey: "idem_1"},
			Link: events.LinkState{ID: "link_1", Mode: events.ModeLive, FileID: "file_1", Token: "tok_secret", Created: t0,
				ExpiresAt: &exp, Metadata: map[string]string{"order": "42"}, Version: 1},
		},
		Payload: events.LinkCreated{FileID: "file_1", Token: "tok_secret", ExpiresAt: &exp, Metadata: map[string]string{"order": "42"}},
	}},
	{"LinkUpdated", goldenUpdated, events.Event{
		Envelope: events.Envelope{
			Schema: 1, ID: "evt_0002", Type: events.TypeLinkUpdated, LinkID: "link_1", Mode: events.ModeLive, Version: 2,
			Time:  utc(1, 12, 5, 0, 500_000_000),
			Audit: events.Audit{Actor: "api"},
			Link: events.LinkState{ID: "link_1", Mode: events.ModeLive, FileID: "file_1", Token: "tok_secret", Created: t0,
				Metadata: map[string]string{"a": "1"}, Version: 2},
		},
		Payload: events.LinkUpdated{ExpiresAtCleared: true, MetadataCleared: true,
			MetadataSet: map[string]string{"a": "1"}, MetadataUnset: []string{"b", "c"}},
	}},
	{"LinkExpired", goldenExpired, events.Event{
		Envelope: events.Envelope{
			Schema: 1, ID: "evt_0003", Type: events.TypeLinkExpired, LinkID: "link_1", Mode: events.ModeTest, Version: 3,
			Time:  utc(2, 12, 0, 3, 0),
			Audit: events.Audit{Actor: "expirer"},
			Link: events.LinkState{ID: "link_1", Mode: events.ModeTest, FileID: "file_1", Token: "tok_secret", Created: t0,
				ExpiresAt: &exp, ExpiredAt: new(utc(2, 12, 0, 3, 0)), Metadata: map[string]string{}, Version: 3},
		},
		Payload: events.LinkExpired{Reason: events.ReasonDeadline, Deadline: exp},
	}},
	{"LinkDeleted", goldenDeleted, events.Event{
		Envelope: events.Envelope{
			Schema: 1, ID: "evt_0004", Type: events.TypeLinkDeleted, LinkID: "link_1", Mode: events.ModeTest, Version: 4,
			Time:  utc(3, 0, 0, 0, 0),
			Audit: events.Audit{Actor: "api", KeyID: "kh_ab12", RequestID: "req_4"},
			Link: events.LinkState{ID: "link_1", Mode: events.ModeTest, FileID: "file_1", Token: "tok_secret", Created: t0,
				ExpiresAt: &exp, ExpiredAt: new(utc(2, 12, 0, 3, 0)), DeletedAt: new(utc(3, 0, 0, 0, 0)),
				Metadata: map[string]string{}, Version: 4},
		},
		Payload: events.LinkDeleted{},
	}},
}

// sameEvent compares two events apart from Data, the raw payload bytes,
// whose spacing is not part of the contract.
func sameEvent(a, b events.Event) bool {
	a.Data, b.Data = nil, nil
	return reflect.DeepEqual(a, b)
}

func TestUnmarshal_Golden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			got, err := events.Unmarshal([]byte(g.json))
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !sameEvent(got, g.want) {
				t.Fatalf("Unmarshal\n got %+v\nwant %+v", got, g.want)
			}
			if !json.Valid(got.Data) || len(got.Data) == 0 {
				t.Errorf("Data = %q, want the raw payload", got.Data)
			}

			env, err := events.UnmarshalEnvelope([]byte(g.json))
			if err != nil {
				t.Fatalf("UnmarshalEnvelope: %v", err)
			}
			if !sameEvent(events.Event{Envelope: env}, events.Event{Envelope: g.want.Envelope}) {
				t.Errorf("UnmarshalEnvelope\n got %+v\nwant %+v", env, g.want.Envelope)
			}
		})
	}
}

// TestUnmarshal_AddedFields: the contract grows by optional fields, so an
// event written by a later schema-1 writer with fields this one does not know
// still decodes.
func TestUnmarshal_AddedFields(t *testing.T) {
	b := mutate(t, goldenCreated, func(m map[string]any) {
		m["trace_id"] = "abc"
		m["data"].(map[string]any)["file_purpose"] = "dispute_evidence"
		m["link"].(map[string]any)["url"] = "https://files.example/links/x"
		m["audit"].(map[string]any)["ip"] = "192.0.2.1"
	})
	got, err := events.Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !sameEvent(got, goldens[0].want) {
		t.Fatalf("Unmarshal\n got %+v\nwant %+v", got, goldens[0].want)
	}
}

func TestMarshal_RoundTrip(t *testing.T) {
	env := func(id string, version uint64) events.Envelope {
		return events.Envelope{
			ID: id, LinkID: "link_1", Mode: events.ModeLive, Version: version, Time: t0.Add(time.Duration(version) * time.Minute),
			Audit: events.Audit{Actor: "api", KeyID: "kh_1", RequestID: "req_1", IdempotencyKey: "idem_1"},
			Link: events.LinkState{ID: "link_1", Mode: events.ModeLive, FileID: "file_1", Token: "tok_1", Created: t0,
				ExpiresAt: &exp, Metadata: map[string]string{"k": "v", "ünï": "cödé"}, Version: version},
		}
	}
	requested := t0.Add(7 * time.Minute)
	for _, tc := range []struct {
		name string
		ev   events.Event
	}{
		{"LinkCreated", events.Event{Envelope: env("evt_1", 1), Payload: events.LinkCreated{
			FileID: "file_1", Token: "tok_1", ExpiresAt: &exp, Metadata: map[string]string{"k": "v", "ünï": "cödé"}}}},
		{"LinkCreatedNoExpiry", events.Event{Envelope: env("evt_1", 1), Payload: events.LinkCreated{
			FileID: "file_1", Token: "tok_1", Metadata: map[string]string{}}}},
		{"LinkUpdated", events.Event{Envelope: env("evt_2", 2), Payload: events.LinkUpdated{
			ExpiresAt: &exp, MetadataCleared: true, MetadataSet: map[string]string{"a": "1"}, MetadataUnset: []string{"b"}}}},
		{"LinkUpdatedCleared", events.Event{Envelope: env("evt_2", 2), Payload: events.LinkUpdated{ExpiresAtCleared: true}}},
		{"LinkExpired", events.Event{Envelope: env("evt_3", 3), Payload: events.LinkExpired{
			Reason: events.ReasonRequested, Deadline: requested}}},
		{"LinkDeleted", events.Event{Envelope: env("evt_4", 4), Payload: events.LinkDeleted{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.ev
			// Marshal takes the type and schema from the payload and the
			// package, never from the caller.
			in.Type, in.Schema = "Bogus", 99

			b, err := events.Marshal(in)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got, err := events.Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			want := tc.ev
			want.Type, want.Schema = tc.ev.Payload.EventType(), events.Schema
			if !sameEvent(got, want) {
				t.Fatalf("round trip\n got %+v\nwant %+v\njson %s", got, want, b)
			}
		})
	}
}

func TestMarshal_NoPayload(t *testing.T) {
	if b, err := events.Marshal(events.Event{Envelope: events.Envelope{ID: "evt_1"}}); err == nil {
		t.Fatalf("Marshal without payload = %s, want an error", b)
	}
}

// mutate decodes a golden event into generic JSON, lets edit change it and
// encodes it again.
func mutate(t testing.TB, golden string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(golden), &m); err != nil {
		t.Fatalf("golden: %v", err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func set(key string, v any) func(map[string]any) {
	return func(m map[string]any) { m[key] = v }
}

func del(key string) func(map[string]any) {
	return func(m map[string]any) { delete(m, key) }
}

func setIn(obj, key string, v any) func(map[string]any) {
	return func(m map[string]any) { m[obj].(map[string]any)[key] = v }
}

func TestUnmarshal_ErrMalformed(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
	}{
		{"Empty", nil},
		{"NotJSON", []byte("LinkCreated link_1")},
		{"Truncated", []byte(goldenCreated[:len(goldenCreated)/2])},
		{"TrailingGarbage", []byte(goldenExpired + "x")},
		{"JSONNull", []byte("null")},
		{"JSONArray", []byte("[" + goldenCreated + "]")},
		{"JSONString", []byte(`"LinkCreated"`)},
		{"EmptyObject", []byte("{}")},
		{"MissingSchema", mutate(t, goldenCreated, del("schema"))},
		{"SchemaZero", mutate(t, goldenCreated, set("schema", 0))},
		{"SchemaNegative", mutate(t, goldenCreated, set("schema", -1))},
		{"SchemaString", mutate(t, goldenCreated, set("schema", "1"))},
		{"MissingID", mutate(t, goldenCreated, del("id"))},
		{"EmptyID", mutate(t, goldenCreated, set("id", ""))},
		{"MissingLinkID", mutate(t, goldenCreated, del("link_id"))},
		{"MissingVersion", mutate(t, goldenCreated, del("version"))},
		{"VersionZero", mutate(t, goldenCreated, func(m map[string]any) {
			m["version"] = 0
			m["link"].(map[string]any)["version"] = 0
		})},
		{"VersionNegative", mutate(t, goldenCreated, set("version", -1))},
		{"VersionString", mutate(t, goldenCreated, set("version", "1"))},
		{"VersionFraction", mutate(t, goldenCreated, set("version", 1.5))},
		{"MissingMode", mutate(t, goldenCreated, del("mode"))},
		{"UnknownMode", mutate(t, goldenCreated, set("mode", "prod"))},
		{"ModeCase", mutate(t, goldenCreated, set("mode", "LIVE"))},
		{"TimeNotRFC3339", mutate(t, goldenCreated, set("time", "yesterday"))},
		{"TimeNumber", mutate(t, goldenCreated, set("time", 1772366400))},
		{"AuditString", mutate(t, goldenCreated, set("audit", "api"))},
		{"LinkIDMismatch", mutate(t, goldenCreated, setIn("link", "id", "link_2"))},
		{"LinkVersionMismatch", mutate(t, goldenCreated, setIn("link", "version", 2))},
		{"LinkMissing", mutate(t, goldenCreated, del("link"))},
		{"LinkArray", mutate(t, goldenCreated, set("link", []any{}))},
		{"LinkMetadataArray", mutate(t, goldenCreated, setIn("link", "metadata", []any{"a"}))},
		{"DataMissing", mutate(t, goldenCreated, del("data"))},
		{"DataString", mutate(t, goldenCreated, set("data", "file_1"))},
		{"DataArray", mutate(t, goldenCreated, set("data", []any{}))},
		{"DataNumber", mutate(t, goldenCreated, set("data", 1))},
		{"CreatedFileIDNumber", mutate(t, goldenCreated, setIn("data", "file_id", 1))},
		{"CreatedExpiresAtNotTime", mutate(t, goldenCreated, setIn("data", "expires_at", "tomorrow"))},
		{"CreatedMetadataArray", mutate(t, goldenCreated, setIn("data", "metadata", []any{"order"}))},
		{"CreatedMetadataValueNumber", mutate(t, goldenCreated, setIn("data", "metadata", map[string]any{"order": 42}))},
		{"UpdatedDataString", mutate(t, goldenUpdated, set("data", "x"))},
		{"UpdatedUnsetString", mutate(t, goldenUpdated, setIn("data", "metadata_unset", "b"))},
		{"UpdatedClearedString", mutate(t, goldenUpdated, setIn("data", "metadata_cleared", "true"))},
		{"ExpiredDeadlineNumber", mutate(t, goldenExpired, setIn("data", "deadline", 1772452800))},
		{"ExpiredReasonObject", mutate(t, goldenExpired, setIn("data", "reason", map[string]any{}))},
		{"DeletedDataString", mutate(t, goldenDeleted, set("data", ""))},
		{"DeletedDataArray", mutate(t, goldenDeleted, set("data", []any{}))},
		{"DeletedDataMissing", mutate(t, goldenDeleted, del("data"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := events.Unmarshal(tc.in)
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("Unmarshal(%s) = %+v, %v; want ErrMalformed", tc.in, got, err)
			}
			if errors.Is(err, events.ErrUnsupported) {
				t.Errorf("err %v wraps both ErrMalformed and ErrUnsupported", err)
			}
		})
	}
}

// TestUnmarshal_Gaps holds inputs that Unmarshal classifies wrongly today.
// Each skips with its bug while it fails and passes once the bug is fixed.
func TestUnmarshal_Gaps(t *testing.T) {
	cases := []struct {
		name string
		bug  string
		in   []byte
		want error
	}{
		{"LinkModeMismatch",
			"was a bug: UnmarshalEnvelope checks link.id and link.version against the envelope but not link.mode, so a snapshot of the other mode is accepted",
			mutate(t, goldenCreated, setIn("link", "mode", "test")), events.ErrMalformed},
		{"DataNull",
			`bug: "data": null decodes as a zero payload (json.RawMessage holds "null", which decodePayload unmarshals without error), e.g. a LinkCreated with no file_id`,
			mutate(t, goldenCreated, set("data", nil)), events.ErrMalformed},
		{"TypeMissing",
			"was a bug: an envelope without \"type\" is refused with ErrUnsupported (as an unknown type \"\"), but a missing required field is ErrMalformed: a consumer would wait for an upgrade that can never read it",
			mutate(t, goldenCreated, del("type")), events.ErrMalformed},
		{"NewerSchemaEnvelopeChanged",
			"was a bug: UnmarshalEnvelope checks the schema-1 required fields before the schema, so a newer-schema event that renamed or dropped an envelope field (here mode and version) is ErrMalformed instead of ErrUnsupported",
			mutate(t, goldenCreated, func(m map[string]any) {
				m["schema"] = events.Schema + 1
				delete(m, "mode")
				delete(m, "version")
			}), events.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.Unmarshal(tc.in)
			if errors.Is(err, tc.want) {
				return
			}
			t.Fatalf("regression: %s (err = %v)", tc.bug, err)
		})
	}
}

func TestUnmarshal_ErrUnsupported(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
	}{
		{"NewerSchema", mutate(t, goldenCreated, set("schema", events.Schema+1))},
		{"MuchNewerSchema", mutate(t, goldenDeleted, set("schema", 1000))},
		{"NewerSchemaNewPayloadShape", mutate(t, goldenCreated, func(m map[string]any) {
			m["schema"] = events.Schema + 1
			m["data"] = []any{"file_1", "tok_secret"}
		})},
		{"NewerSchemaNewType", mutate(t, goldenCreated, func(m map[string]any) {
			m["schema"] = events.Schema + 1
			m["type"] = "LinkRenamed"
		})},
		{"UnknownType", mutate(t, goldenCreated, set("type", "LinkRenamed"))},
		{"TypeCase", mutate(t, goldenCreated, set("type", "linkcreated"))},
		{"TypeWithSpace", mutate(t, goldenCreated, set("type", "LinkCreated "))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := events.Unmarshal(tc.in)
			if !errors.Is(err, events.ErrUnsupported) {
				t.Fatalf("Unmarshal(%s) = %+v, %v; want ErrUnsupported", tc.in, got, err)
			}
			if errors.Is(err, events.ErrMalformed) {
				t.Errorf("err %v wraps both ErrUnsupported and ErrMalformed", err)
			}
			if _, err := events.UnmarshalEnvelope(tc.in); !errors.Is(err, events.ErrUnsupported) {
				t.Errorf("UnmarshalEnvelope: err = %v, want ErrUnsupported", err)
			}
		})
	}
}

// TestUnmarshalEnvelope_IgnoresPayload: readers that need only the state
// after the event do not fail on a payload they would not use.
func TestUnmarshalEnvelope_IgnoresPayload(t *testing.T) {
	b := mutate(t, goldenExpired, set("data", "not an object"))
	env, err := events.UnmarshalEnvelope(b)
	if err != nil {
		t.Fatalf("UnmarshalEnvelope: %v", err)
	}
	if env.Link.Version != 3 || env.Link.ExpiredAt == nil {
		t.Errorf("Link = %+v, want the version 3 snapshot", env.Link)
	}
	if _, err := events.Unmarshal(b); !errors.Is(err, events.ErrMalformed) {
		t.Errorf("Unmarshal: err = %v, want ErrMalformed", err)
	}
}

// FuzzUnmarshal: Unmarshal never panics, every error it returns is one of
// the two documented kinds, and what it accepts is a consistent event that
// survives being written back.
func FuzzUnmarshal(f *testing.F) {
	for _, g := range goldens {
		f.Add([]byte(g.json))
	}
	for _, s := range []string{
		"", "null", "{}", "[]", `{"schema":2}`, `{"schema":1,"id":"e","type":"LinkDeleted","link_id":"l","mode":"test","version":1,"link":{"id":"l","version":1}}`,
		`{"schema":1,"id":"e","type":"LinkDeleted","link_id":"l","mode":"test","version":1,"data":null,"link":{"id":"l","version":1}}`,
		`{"schema":1,"id":"e","type":"LinkUpdated","link_id":"l","mode":"live","version":18446744073709551615,"data":{"metadata_set":{"\ud800":"x"}},"link":{"id":"l","version":18446744073709551615}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := events.Unmarshal(b)
		if err != nil {
			malformed, unsupported := errors.Is(err, events.ErrMalformed), errors.Is(err, events.ErrUnsupported)
			if malformed == unsupported {
				t.Fatalf("err %v: wraps ErrMalformed %v, ErrUnsupported %v; want exactly one", err, malformed, unsupported)
			}
			return
		}
		switch {
		case ev.Payload == nil || ev.Payload.EventType() != ev.Type:
			t.Fatalf("payload %T for type %q", ev.Payload, ev.Type)
		case ev.Schema < 1 || ev.Schema > events.Schema || ev.ID == "" || ev.LinkID == "" || ev.Version == 0 || !ev.Mode.Valid():
			t.Fatalf("accepted an incomplete envelope: %+v", ev.Envelope)
		case ev.Link.ID != ev.LinkID || ev.Link.Version != ev.Version:
			t.Fatalf("accepted a snapshot that does not match: %+v", ev.Envelope)
		}
		if _, err := events.UnmarshalEnvelope(b); err != nil {
			t.Fatalf("Unmarshal accepted what UnmarshalEnvelope refuses: %v", err)
		}

		b1, err := events.Marshal(ev)
		if err != nil {
			t.Fatalf("Marshal of an accepted event: %v", err)
		}
		ev2, err := events.Unmarshal(b1)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(ev)): %v\n%s", err, b1)
		}
		b2, err := events.Marshal(ev2)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("not stable after one round trip:\n%s\n%s", b1, b2)
		}
	})
}
