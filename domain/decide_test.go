package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// The tests read as: given the events of earlier commands, when a command is
// decided at now, then these payloads or this error.

var t0 = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

const (
	testLinkID = "link_1"
	testMode   = events.ModeTest
	testToken  = "tok_secret"
)

// step is one earlier command of a history and the time it was decided at.
type step struct {
	Cmd domain.Command
	At  time.Time
}

// given decides and seals each step in turn, as the event log would, and
// returns the state after the last one and every event. A step that fails or
// changes nothing fails the test: a history is made of facts.
func given(t *testing.T, steps ...step) (domain.Link, []events.Event) {
	t.Helper()
	state := domain.Link{ID: testLinkID, Mode: testMode}
	var all []events.Event
	for i, s := range steps {
		ps, err := domain.Decide(state, s.Cmd, s.At)
		if err != nil {
			t.Fatalf("given step %d (%T): %v", i, s.Cmd, err)
		}
		if len(ps) == 0 {
			t.Fatalf("given step %d (%T): no events", i, s.Cmd)
		}
		ids := make([]string, len(ps))
		for j := range ids {
			ids[j] = fmt.Sprintf("evt_%d", int(state.Version)+j+1)
		}
		var evs []events.Event
		evs, state = domain.Seal(testLinkID, testMode, state, ps, s.At, events.Audit{Actor: "api"}, ids)
		all = append(all, evs...)
	}
	return state, all
}

func linkableFile() domain.File {
	return domain.File{ID: "file_1", Found: true, Mode: testMode, Purpose: "dispute_evidence"}
}

// newLink is a valid CreateLink; edit changes a copy of it.
func newLink(edit func(c *domain.CreateLink)) domain.CreateLink {
	c := domain.CreateLink{Mode: testMode, LinkID: testLinkID, Token: testToken, File: linkableFile()}
	if edit != nil {
		edit(&c)
	}
	return c
}

// createdAt is the step that creates the link at t0 with the given expiry
// (nil: never) and metadata.
func createdAt(expiresAt *time.Time, md map[string]string) step {
	return step{Cmd: newLink(func(c *domain.CreateLink) {
		c.ExpiresAt = expiresAt
		c.Metadata = domain.MetadataPatch{Set: md}
	}), At: t0}
}

// keys returns n metadata entries named prefix00, prefix01, ...
func keys(prefix string, n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("%s%02d", prefix, i)] = "v"
	}
	return m
}

// union returns the entries of all ms; later ones win.
func union(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

func errWant(code domain.Code, reason, param string) *domain.Error {
	return &domain.Error{Code: code, Reason: reason, Param: param}
}

type decideCase struct {
	name  string
	given []step
	cmd   domain.Command
	now   time.Time
	// want are the payloads; nil with wantErr nil means no events.
	want    []events.Payload
	wantErr *domain.Error
	// wantMetadata, when not nil, is the link's metadata once want is applied.
	wantMetadata map[string]string
}

func runDecide(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, _ := given(t, tc.given...)
			before := maps.Clone(state.Metadata)

			got, err := domain.Decide(state, tc.cmd, tc.now)

			if !maps.Equal(state.Metadata, before) {
				t.Errorf("Decide modified the state's metadata: %v, was %v", state.Metadata, before)
			}
			if tc.wantErr != nil {
				checkErr(t, err, tc.wantErr)
				if len(got) != 0 {
					t.Errorf("payloads with an error: %s", fmtPayloads(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v, want payloads %s", err, fmtPayloads(tc.want))
			}
			if !samePayloads(got, tc.want) {
				t.Fatalf("payloads\n got %s\nwant %s", fmtPayloads(got), fmtPayloads(tc.want))
			}
			checkPayloadTimes(t, got)
			if tc.wantMetadata != nil {
				_, after := domain.Seal(testLinkID, testMode, state, got, tc.now, events.Audit{Actor: "api"}, make([]string, len(got)))
				if !maps.Equal(after.Metadata, tc.wantMetadata) {
					t.Errorf("metadata after the events = %v, want %v", after.Metadata, tc.wantMetadata)
				}
			}
		})
	}
}

func checkErr(t *testing.T, err error, want *domain.Error) {
	t.Helper()
	var got *domain.Error
	if !errors.As(err, &got) {
		t.Fatalf("err = %v (%T), want *domain.Error %s/%s", err, err, want.Code, want.Reason)
	}
	if got.Code != want.Code || got.Reason != want.Reason || got.Param != want.Param {
		t.Fatalf("err = code %q reason %q param %q, want code %q reason %q param %q (%v)",
			got.Code, got.Reason, got.Param, want.Code, want.Reason, want.Param, got)
	}
	if got.Message == "" {
		t.Errorf("err %s/%s has no message", got.Code, got.Reason)
	}
	if domain.ErrorCode(err) != want.Code {
		t.Errorf("ErrorCode = %q, want %q", domain.ErrorCode(err), want.Code)
	}
}

// samePayloads compares payloads by meaning: times by instant, nil and empty
// maps and slices alike.
func samePayloads(got, want []events.Payload) bool {
	return slices.EqualFunc(got, want, samePayload)
}

func samePayload(a, b events.Payload) bool {
	switch a := a.(type) {
	case events.LinkCreated:
		b, ok := b.(events.LinkCreated)
		return ok && a.FileID == b.FileID && a.Token == b.Token &&
			sameTime(a.ExpiresAt, b.ExpiresAt) && maps.Equal(a.Metadata, b.Metadata)
	case events.LinkUpdated:
		b, ok := b.(events.LinkUpdated)
		return ok && sameTime(a.ExpiresAt, b.ExpiresAt) && a.ExpiresAtCleared == b.ExpiresAtCleared &&
			a.MetadataCleared == b.MetadataCleared && maps.Equal(a.MetadataSet, b.MetadataSet) &&
			slices.Equal(a.MetadataUnset, b.MetadataUnset)
	case events.LinkExpired:
		b, ok := b.(events.LinkExpired)
		return ok && a.Reason == b.Reason && a.Deadline.Equal(b.Deadline)
	case events.LinkDeleted:
		_, ok := b.(events.LinkDeleted)
		return ok
	}
	return false
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func fmtPayloads(ps []events.Payload) string {
	if len(ps) == 0 {
		return "[]"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		b, _ := json.Marshal(p)
		parts[i] = p.EventType() + string(b)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// checkPayloadTimes checks that every expiry time in ps is stored in UTC with
// whole-second precision, as the contract says.
func checkPayloadTimes(t *testing.T, ps []events.Payload) {
	t.Helper()
	check := func(what string, tm time.Time) {
		if tm.Location() != time.UTC || !tm.Equal(tm.Truncate(time.Second)) {
			t.Errorf("%s = %s, want UTC with whole seconds", what, tm.Format(time.RFC3339Nano))
		}
	}
	for _, p := range ps {
		switch p := p.(type) {
		case events.LinkCreated:
			if p.ExpiresAt != nil {
				check("LinkCreated.ExpiresAt", *p.ExpiresAt)
			}
		case events.LinkUpdated:
			if p.ExpiresAt != nil {
				check("LinkUpdated.ExpiresAt", *p.ExpiresAt)
			}
		case events.LinkExpired:
			check("LinkExpired.Deadline", p.Deadline)
		}
	}
}

func created(expiresAt *time.Time, md map[string]string) events.LinkCreated {
	return events.LinkCreated{FileID: "file_1", Token: testToken, ExpiresAt: expiresAt, Metadata: md}
}

func TestDecide_CreateLink(t *testing.T) {
	withMetadata := func(set map[string]string) domain.CreateLink {
		return newLink(func(c *domain.CreateLink) { c.Metadata = domain.MetadataPatch{Set: set} })
	}
	withExpiry := func(at time.Time) domain.CreateLink {
		return newLink(func(c *domain.CreateLink) { c.ExpiresAt = &at })
	}
	withFile := func(f domain.File) domain.CreateLink {
		return newLink(func(c *domain.CreateLink) { c.File = f })
	}
	errKey := errWant(domain.EINVALID, domain.ReasonMetadataKey, "metadata")
	errValue := errWant(domain.EINVALID, domain.ReasonMetadataValue, "metadata")
	errPast := errWant(domain.EINVALID, domain.ReasonExpiresAtPast, "expires_at")
	errNotFound := errWant(domain.ENOTFOUND, domain.ReasonFileNotFound, "file")

	cases := []decideCase{
		{name: "OK", cmd: newLink(nil), now: t0,
			want: []events.Payload{created(nil, nil)}},
		{name: "OKExpiresAtAndMetadata",
			cmd: newLink(func(c *domain.CreateLink) {
				c.ExpiresAt = new(t0.Add(time.Hour))
				c.Metadata = domain.MetadataPatch{Set: map[string]string{"order": "42"}}
			}),
			now:  t0,
			want: []events.Payload{created(new(t0.Add(time.Hour)), map[string]string{"order": "42"})}},
		{name: "OKExpiresAtNowPlus1s", cmd: withExpiry(t0.Add(time.Second)), now: t0,
			want: []events.Payload{created(new(t0.Add(time.Second)), nil)}},
		{name: "OKExpiresAtTruncated", cmd: withExpiry(t0.Add(1900 * time.Millisecond)), now: t0,
			want: []events.Payload{created(new(t0.Add(time.Second)), nil)}},
		{name: "OKExpiresAtNextSecondWithSubSecondNow", cmd: withExpiry(t0.Add(time.Second)), now: t0.Add(999 * time.Millisecond),
			want: []events.Payload{created(new(t0.Add(time.Second)), nil)}},
		{name: "OKExpiresAtOtherZone", cmd: withExpiry(t0.Add(time.Hour).In(time.FixedZone("CET", 3600))), now: t0,
			want: []events.Payload{created(new(t0.Add(time.Hour)), nil)}},
		{name: "ErrExpiresAtEqualNow", cmd: withExpiry(t0), now: t0, wantErr: errPast},
		{name: "ErrExpiresAtTruncatedToNow", cmd: withExpiry(t0.Add(999 * time.Millisecond)), now: t0, wantErr: errPast},
		{name: "ErrExpiresAtSameSecondAsSubSecondNow", cmd: withExpiry(t0.Add(600 * time.Millisecond)), now: t0.Add(500 * time.Millisecond), wantErr: errPast},
		{name: "ErrExpiresAtPast", cmd: withExpiry(t0.Add(-time.Hour)), now: t0, wantErr: errPast},

		{name: "ErrFileMissing", cmd: withFile(domain.File{}), now: t0,
			wantErr: errWant(domain.EINVALID, domain.ReasonFileMissing, "file")},
		{name: "ErrFileNotFound", cmd: withFile(domain.File{ID: "file_nope"}), now: t0, wantErr: errNotFound},
		{name: "ErrFileOtherMode",
			cmd:     withFile(domain.File{ID: "file_1", Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"}),
			now:     t0,
			wantErr: errNotFound},
		{name: "ErrLinkExists", given: []step{createdAt(nil, nil)}, cmd: newLink(nil), now: t0.Add(time.Minute),
			wantErr: errWant(domain.ECONFLICT, domain.ReasonLinkExists, "")},
		{name: "ErrLinkExistsDeleted",
			given:   []step{createdAt(nil, nil), {Cmd: domain.DeleteLink{}, At: t0.Add(time.Minute)}},
			cmd:     newLink(nil),
			now:     t0.Add(2 * time.Minute),
			wantErr: errWant(domain.ECONFLICT, domain.ReasonLinkExists, "")},
		{name: "ErrNoToken", cmd: newLink(func(c *domain.CreateLink) { c.Token = "" }), now: t0,
			wantErr: errWant(domain.EINTERNAL, domain.ReasonInvalidCommand, "")},
		{name: "ErrInvalidLinkID", cmd: newLink(func(c *domain.CreateLink) { c.LinkID = "link 1" }), now: t0,
			wantErr: errWant(domain.EINTERNAL, domain.ReasonInvalidCommand, "")},

		{name: "OKMetadata50Keys", cmd: withMetadata(keys("k", 50)), now: t0,
			want: []events.Payload{created(nil, keys("k", 50))}},
		{name: "ErrMetadata51Keys", cmd: withMetadata(keys("k", 51)), now: t0,
			wantErr: errWant(domain.EINVALID, domain.ReasonMetadataKeys, "metadata")},
		{name: "OKMetadata51KeysOneEmpty", cmd: withMetadata(union(keys("k", 50), map[string]string{"gone": ""})), now: t0,
			want: []events.Payload{created(nil, keys("k", 50))}},
		{name: "OKMetadataEmptyValueIgnored", cmd: withMetadata(map[string]string{"a": "1", "b": ""}), now: t0,
			want: []events.Payload{created(nil, map[string]string{"a": "1"})}},
		{name: "OKMetadataClear", cmd: newLink(func(c *domain.CreateLink) { c.Metadata = domain.MetadataPatch{Clear: true} }), now: t0,
			want: []events.Payload{created(nil, nil)}},
		{name: "OKMetadataKey40Runes", cmd: withMetadata(map[string]string{strings.Repeat("é", 40): "v"}), now: t0,
			want: []events.Payload{created(nil, map[string]string{strings.Repeat("é", 40): "v"})}},
		{name: "OKMetadataKey40FourByteRunes", cmd: withMetadata(map[string]string{strings.Repeat("𝄞", 40): "v"}), now: t0,
			want: []events.Payload{created(nil, map[string]string{strings.Repeat("𝄞", 40): "v"})}},
		{name: "ErrMetadataKey41Runes", cmd: withMetadata(map[string]string{strings.Repeat("é", 41): "v"}), now: t0, wantErr: errKey},
		{name: "ErrMetadataKey41ASCII", cmd: withMetadata(map[string]string{strings.Repeat("k", 41): "v"}), now: t0, wantErr: errKey},
		{name: "ErrMetadataKeyOpenBracket", cmd: withMetadata(map[string]string{"a[b": "v"}), now: t0, wantErr: errKey},
		{name: "ErrMetadataKeyCloseBracket", cmd: withMetadata(map[string]string{"a]": "v"}), now: t0, wantErr: errKey},
		{name: "ErrMetadataKeyEmpty", cmd: withMetadata(map[string]string{"": "v"}), now: t0, wantErr: errKey},
		{name: "ErrMetadataKeyInvalidUTF8", cmd: withMetadata(map[string]string{"k\xff": "v"}), now: t0, wantErr: errKey},
		{name: "OKMetadataValue500Runes", cmd: withMetadata(map[string]string{"k": strings.Repeat("€", 500)}), now: t0,
			want: []events.Payload{created(nil, map[string]string{"k": strings.Repeat("€", 500)})}},
		{name: "ErrMetadataValue501Runes", cmd: withMetadata(map[string]string{"k": strings.Repeat("€", 501)}), now: t0, wantErr: errValue},
		{name: "ErrMetadataValueInvalidUTF8", cmd: withMetadata(map[string]string{"k": "v\xc3"}), now: t0, wantErr: errValue},
	}

	for _, p := range []string{
		"business_icon", "business_logo", "customer_signature", "dispute_evidence", "finance_report_run",
		"financial_account_statement", "identity_document_downloadable", "issuing_regulatory_reporting",
		"pci_document", "selfie", "sigma_scheduled_query", "tax_document_user_upload", "terminal_android_apk",
		"terminal_reader_splashscreen",
	} {
		cases = append(cases, decideCase{
			name: "OKPurpose_" + p,
			cmd:  withFile(domain.File{ID: "file_1", Found: true, Mode: testMode, Purpose: p}),
			now:  t0,
			want: []events.Payload{created(nil, nil)},
		})
	}
	for _, p := range []string{
		"account_requirement", "additional_verification", "document_provider_identity_document",
		"identity_document", "platform_terms_of_service", "terminal_wifi_certificate", "terminal_wifi_private_key",
		"", "Selfie", "unknown",
	} {
		cases = append(cases, decideCase{
			name:    "ErrPurposeNotLinkable_" + p,
			cmd:     withFile(domain.File{ID: "file_1", Found: true, Mode: testMode, Purpose: p}),
			now:     t0,
			wantErr: errWant(domain.EINVALID, domain.ReasonFileNotLinkable, "file"),
		})
	}
	runDecide(t, cases)
}

func TestDecide_UpdateLink(t *testing.T) {
	expiry := t0.Add(time.Hour)
	now := t0.Add(time.Minute)
	base := createdAt(&expiry, map[string]string{"a": "1", "b": "2"})
	noExpiry := createdAt(nil, map[string]string{"a": "1"})
	set := func(set map[string]string) domain.UpdateLink {
		return domain.UpdateLink{Metadata: domain.MetadataPatch{Set: set}}
	}
	expireNow := func(md map[string]string) domain.UpdateLink {
		return domain.UpdateLink{Expiry: domain.ExpiryNow, Metadata: domain.MetadataPatch{Set: md}}
	}
	setExpiry := func(at time.Time) domain.UpdateLink {
		return domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: at}
	}
	errExpired := errWant(domain.EINVALID, domain.ReasonLinkExpired, "")
	errNotFound := errWant(domain.ENOTFOUND, domain.ReasonLinkNotFound, "id")
	errPast := errWant(domain.EINVALID, domain.ReasonExpiresAtPast, "expires_at")
	errKeys := errWant(domain.EINVALID, domain.ReasonMetadataKeys, "metadata")
	errKey := errWant(domain.EINVALID, domain.ReasonMetadataKey, "metadata")
	errValue := errWant(domain.EINVALID, domain.ReasonMetadataValue, "metadata")

	runDecide(t, []decideCase{
		// Metadata.
		{name: "OKMetadataAdd", given: []step{base}, cmd: set(map[string]string{"c": "3"}), now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"c": "3"}}},
			wantMetadata: map[string]string{"a": "1", "b": "2", "c": "3"}},
		{name: "OKMetadataChange", given: []step{base}, cmd: set(map[string]string{"a": "x"}), now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"a": "x"}}},
			wantMetadata: map[string]string{"a": "x", "b": "2"}},
		{name: "OKMetadataUnset", given: []step{base}, cmd: set(map[string]string{"a": ""}), now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataUnset: []string{"a"}}},
			wantMetadata: map[string]string{"b": "2"}},
		{name: "OKMetadataUnsetSorted", given: []step{base}, cmd: set(map[string]string{"b": "", "a": "", "zz": ""}), now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataUnset: []string{"a", "b"}}},
			wantMetadata: map[string]string{}},
		{name: "OKMetadataSetSameAndChange", given: []step{base}, cmd: set(map[string]string{"a": "1", "b": "x"}), now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"b": "x"}}},
			wantMetadata: map[string]string{"a": "1", "b": "x"}},
		{name: "OKMetadataClear", given: []step{base}, cmd: domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true}}, now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataCleared: true}},
			wantMetadata: map[string]string{}},
		{name: "OKMetadataClearPlusSet", given: []step{base},
			cmd:          domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: map[string]string{"c": "3", "zz": ""}}},
			now:          now,
			want:         []events.Payload{events.LinkUpdated{MetadataCleared: true, MetadataSet: map[string]string{"c": "3"}}},
			wantMetadata: map[string]string{"c": "3"}},
		{name: "OKMetadataClearPlusSetExistingKey", given: []step{base},
			cmd:          domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: map[string]string{"a": "1"}}},
			now:          now,
			want:         []events.Payload{events.LinkUpdated{MetadataCleared: true, MetadataSet: map[string]string{"a": "1"}}},
			wantMetadata: map[string]string{"a": "1"}},
		{name: "NoopMetadataSetSameValue", given: []step{base}, cmd: set(map[string]string{"a": "1"}), now: now},
		{name: "NoopMetadataUnsetMissing", given: []step{base}, cmd: set(map[string]string{"zz": ""}), now: now},
		{name: "NoopEmptyUpdate", given: []step{base}, cmd: domain.UpdateLink{}, now: now},
		{name: "NoopMetadataClearWhenEmpty", given: []step{createdAt(nil, nil)},
			cmd: domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true}}, now: now},

		// Metadata limits, counted after the patch is applied to the keys the link has.
		{name: "OKMetadataAddUpTo50", given: []step{createdAt(nil, keys("k", 48))}, cmd: set(keys("n", 2)), now: now,
			want:         []events.Payload{events.LinkUpdated{MetadataSet: keys("n", 2)}},
			wantMetadata: union(keys("k", 48), keys("n", 2))},
		{name: "ErrMetadataAddTo51", given: []step{createdAt(nil, keys("k", 48))}, cmd: set(keys("n", 3)), now: now, wantErr: errKeys},
		{name: "ErrMetadataAddOneTo50", given: []step{createdAt(nil, keys("k", 50))}, cmd: set(keys("n", 1)), now: now, wantErr: errKeys},
		{name: "OKMetadataChangeAt50", given: []step{createdAt(nil, keys("k", 50))}, cmd: set(map[string]string{"k00": "x"}), now: now,
			want: []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"k00": "x"}}}},
		{name: "OKMetadataSwapAt50", given: []step{createdAt(nil, keys("k", 50))}, cmd: set(map[string]string{"k00": "", "n00": "v"}), now: now,
			want: []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"n00": "v"}, MetadataUnset: []string{"k00"}}}},
		{name: "OKMetadataClearAndSet50", given: []step{createdAt(nil, keys("k", 50))},
			cmd:          domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: keys("n", 50)}},
			now:          now,
			want:         []events.Payload{events.LinkUpdated{MetadataCleared: true, MetadataSet: keys("n", 50)}},
			wantMetadata: keys("n", 50)},
		{name: "ErrMetadataClearAndSet51", given: []step{createdAt(nil, keys("k", 10))},
			cmd: domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: keys("n", 51)}}, now: now, wantErr: errKeys},
		{name: "OKMetadataKey40Runes", given: []step{base}, cmd: set(map[string]string{strings.Repeat("ü", 40): "v"}), now: now,
			want: []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{strings.Repeat("ü", 40): "v"}}}},
		{name: "ErrMetadataKey41Runes", given: []step{base}, cmd: set(map[string]string{strings.Repeat("ü", 41): "v"}), now: now, wantErr: errKey},
		{name: "ErrMetadataKeyBracket", given: []step{base}, cmd: set(map[string]string{"[a]": "v"}), now: now, wantErr: errKey},
		{name: "ErrMetadataKeyEmpty", given: []step{base}, cmd: set(map[string]string{"": "v"}), now: now, wantErr: errKey},
		{name: "ErrMetadataKeyInvalidUTF8", given: []step{base}, cmd: set(map[string]string{"\xc0\xaf": "v"}), now: now, wantErr: errKey},
		{name: "OKMetadataValue500Runes", given: []step{base}, cmd: set(map[string]string{"a": strings.Repeat("ß", 500)}), now: now,
			want: []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"a": strings.Repeat("ß", 500)}}}},
		{name: "ErrMetadataValue501Runes", given: []step{base}, cmd: set(map[string]string{"a": strings.Repeat("ß", 501)}), now: now, wantErr: errValue},
		{name: "ErrMetadataValueInvalidUTF8", given: []step{base}, cmd: set(map[string]string{"a": "\xff"}), now: now, wantErr: errValue},

		// Expiry.
		{name: "OKExpirySet", given: []step{base}, cmd: setExpiry(t0.Add(2 * time.Hour)), now: now,
			want: []events.Payload{events.LinkUpdated{ExpiresAt: new(t0.Add(2 * time.Hour))}}},
		{name: "OKExpirySetTruncated", given: []step{base}, cmd: setExpiry(t0.Add(2*time.Hour + 700*time.Millisecond)), now: now,
			want: []events.Payload{events.LinkUpdated{ExpiresAt: new(t0.Add(2 * time.Hour))}}},
		{name: "OKExpirySetOnLinkWithout", given: []step{noExpiry}, cmd: setExpiry(t0.Add(2 * time.Hour)), now: now,
			want: []events.Payload{events.LinkUpdated{ExpiresAt: new(t0.Add(2 * time.Hour))}}},
		{name: "OKExpirySetEarlier", given: []step{base}, cmd: setExpiry(now.Add(time.Second)), now: now,
			want: []events.Payload{events.LinkUpdated{ExpiresAt: new(now.Add(time.Second))}}},
		{name: "OKExpirySetAndMetadata", given: []step{base},
			cmd: domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(2 * time.Hour),
				Metadata: domain.MetadataPatch{Set: map[string]string{"a": ""}}},
			now:  now,
			want: []events.Payload{events.LinkUpdated{ExpiresAt: new(t0.Add(2 * time.Hour)), MetadataUnset: []string{"a"}}}},
		{name: "NoopExpirySetSame", given: []step{base}, cmd: setExpiry(expiry), now: now},
		{name: "NoopExpirySetSameAfterTruncation", given: []step{base}, cmd: setExpiry(expiry.Add(300 * time.Millisecond)), now: now},
		{name: "NoopExpirySetSameOtherZone", given: []step{base}, cmd: setExpiry(expiry.In(time.FixedZone("X", -5*3600))), now: now},
		{name: "ErrExpirySetEqualNow", given: []step{base}, cmd: setExpiry(now), now: now, wantErr: errPast},
		{name: "ErrExpirySetTruncatedToNow", given: []step{base}, cmd: setExpiry(now.Add(999 * time.Millisecond)), now: now, wantErr: errPast},
		{name: "ErrExpirySetPast", given: []step{base}, cmd: setExpiry(t0), now: now, wantErr: errPast},
		{name: "ErrExpirySetPastWithValidMetadata", given: []step{base},
			cmd:     domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0, Metadata: domain.MetadataPatch{Set: map[string]string{"c": "3"}}},
			now:     now,
			wantErr: errPast},
		{name: "OKExpiryClear", given: []step{base}, cmd: domain.UpdateLink{Expiry: domain.ExpiryClear}, now: now,
			want: []events.Payload{events.LinkUpdated{ExpiresAtCleared: true}}},
		{name: "NoopExpiryClearWithout", given: []step{noExpiry}, cmd: domain.UpdateLink{Expiry: domain.ExpiryClear}, now: now},
		{name: "OKExpiryNow", given: []step{base}, cmd: expireNow(nil), now: now.Add(250 * time.Millisecond),
			want: []events.Payload{events.LinkExpired{Reason: events.ReasonRequested, Deadline: now}}},
		{name: "OKExpiryNowWithout", given: []step{noExpiry}, cmd: expireNow(nil), now: now,
			want: []events.Payload{events.LinkExpired{Reason: events.ReasonRequested, Deadline: now}}},
		{name: "OKExpiryNowWithMetadata", given: []step{base}, cmd: expireNow(map[string]string{"c": "3", "a": ""}), now: now,
			want: []events.Payload{
				events.LinkUpdated{MetadataSet: map[string]string{"c": "3"}, MetadataUnset: []string{"a"}},
				events.LinkExpired{Reason: events.ReasonRequested, Deadline: now},
			},
			wantMetadata: map[string]string{"b": "2", "c": "3"}},
		{name: "OKExpiryNowWithUnchangedMetadata", given: []step{base}, cmd: expireNow(map[string]string{"a": "1", "zz": ""}), now: now,
			want: []events.Payload{events.LinkExpired{Reason: events.ReasonRequested, Deadline: now}}},
		{name: "ErrExpiryNowWithInvalidMetadata", given: []step{base}, cmd: expireNow(map[string]string{"a]": "1"}), now: now, wantErr: errKey},

		// Links that cannot be updated.
		{name: "ErrNotFound", cmd: set(map[string]string{"c": "3"}), now: now, wantErr: errNotFound},
		{name: "ErrDeleted", given: []step{base, {Cmd: domain.DeleteLink{}, At: now}},
			cmd: set(map[string]string{"c": "3"}), now: now.Add(time.Second), wantErr: errNotFound},
		{name: "ErrExpiredByRequest", given: []step{noExpiry, {Cmd: expireNow(nil), At: now}},
			cmd: set(map[string]string{"c": "3"}), now: now.Add(time.Second), wantErr: errExpired},
		{name: "ErrExpiredByRequestClockBehind", given: []step{noExpiry, {Cmd: expireNow(nil), At: now}},
			cmd: set(map[string]string{"c": "3"}), now: t0.Add(time.Second), wantErr: errExpired},
		{name: "ErrExpiredByDeadline", given: []step{base, {Cmd: domain.ExpireLink{Deadline: expiry}, At: expiry}},
			cmd: domain.UpdateLink{Expiry: domain.ExpiryClear}, now: expiry.Add(time.Second), wantErr: errExpired},
		{name: "ErrExpiredByRequestThenExpiryNow", given: []step{noExpiry, {Cmd: expireNow(nil), At: now}},
			cmd: expireNow(nil), now: now.Add(time.Second), wantErr: errExpired},
		{name: "OKOneNanosecondBeforeExpiry", given: []step{base}, cmd: set(map[string]string{"c": "3"}), now: expiry.Add(-time.Nanosecond),
			want: []events.Payload{events.LinkUpdated{MetadataSet: map[string]string{"c": "3"}}}},
		{name: "ErrExpiredByClock", given: []step{base}, cmd: set(map[string]string{"c": "3"}), now: expiry, wantErr: errExpired},
		{name: "ErrExpiredByClockClear", given: []step{base}, cmd: domain.UpdateLink{Expiry: domain.ExpiryClear}, now: expiry.Add(time.Minute), wantErr: errExpired},
		{name: "ErrExpiredByClockSet", given: []step{base}, cmd: setExpiry(expiry.Add(time.Hour)), now: expiry, wantErr: errExpired},
		{name: "ErrExpiredByClockNoop", given: []step{base}, cmd: domain.UpdateLink{}, now: expiry, wantErr: errExpired},
	})
}

// TestDecide_UpdateLinkGaps holds regression tests for updates Decide once
// got wrong.
func TestDecide_UpdateLinkGaps(t *testing.T) {
	t.Run("NoopMetadataClearAndRestore", func(t *testing.T) {
		state, _ := given(t, createdAt(nil, map[string]string{"a": "1", "b": "2"}))
		cmd := domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: map[string]string{"a": "1", "b": "2"}}}
		got, err := domain.Decide(state, cmd, t0.Add(time.Minute))
		if err == nil && len(got) == 0 {
			return
		}
		t.Fatalf("Clear plus Set that restores the current metadata exactly changes nothing but Decide returns %s, %v",
			fmtPayloads(got), err)
	})
}

func TestDecide_ExpireLink(t *testing.T) {
	deadline := t0.Add(time.Hour)
	base := createdAt(&deadline, nil)
	before := t0.Add(time.Minute)
	expire := domain.ExpireLink{Deadline: deadline}
	expired := []events.Payload{events.LinkExpired{Reason: events.ReasonDeadline, Deadline: deadline}}

	runDecide(t, []decideCase{
		{name: "OK", given: []step{base}, cmd: expire, now: deadline, want: expired},
		{name: "OKLate", given: []step{base}, cmd: expire, now: deadline.Add(5 * time.Minute), want: expired},
		{name: "OKAfterMetadataUpdate",
			given: []step{base, {Cmd: domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"a": "1"}}}, At: before}},
			cmd:   expire, now: deadline, want: expired},
		{name: "OKMovedEarlierNewDeadline",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(30 * time.Minute)}, At: before}},
			cmd:   domain.ExpireLink{Deadline: t0.Add(30 * time.Minute)}, now: t0.Add(30 * time.Minute),
			want: []events.Payload{events.LinkExpired{Reason: events.ReasonDeadline, Deadline: t0.Add(30 * time.Minute)}}},
		{name: "ErrNotDue", given: []step{base}, cmd: expire, now: deadline.Add(-time.Nanosecond),
			wantErr: errWant(domain.ECONFLICT, domain.ReasonNotDue, "")},
		{name: "ErrNotDueLongBefore", given: []step{base}, cmd: expire, now: t0,
			wantErr: errWant(domain.ECONFLICT, domain.ReasonNotDue, "")},
		{name: "NoopMovedLater",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(2 * time.Hour)}, At: before}},
			cmd:   expire, now: deadline},
		{name: "NoopMovedEarlier",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(30 * time.Minute)}, At: before}},
			cmd:   expire, now: deadline},
		{name: "NoopMovedNotDue",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(2 * time.Hour)}, At: before}},
			cmd:   expire, now: before},
		{name: "NoopCleared",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpiryClear}, At: before}},
			cmd:   expire, now: deadline},
		{name: "NoopNeverExpires", given: []step{createdAt(nil, nil)}, cmd: expire, now: deadline},
		{name: "NoopAlreadyExpired",
			given: []step{base, {Cmd: expire, At: deadline}},
			cmd:   expire, now: deadline.Add(time.Second)},
		{name: "NoopAlreadyExpiredByRequest",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpiryNow}, At: before}},
			cmd:   expire, now: deadline},
		{name: "NoopRequestedAtDeadlineSecond",
			// ExpiryNow records the second of the request as expires_at; a
			// job for that same second finds the link already expired.
			given: []step{createdAt(nil, nil), {Cmd: domain.UpdateLink{Expiry: domain.ExpiryNow}, At: before}},
			cmd:   domain.ExpireLink{Deadline: before}, now: before},
		{name: "NoopDeleted",
			given: []step{base, {Cmd: domain.DeleteLink{}, At: before}},
			cmd:   expire, now: deadline},
		{name: "NoopDeletedNotDue",
			given: []step{base, {Cmd: domain.DeleteLink{}, At: before}},
			cmd:   expire, now: before},
		{name: "NoopNotFound", cmd: expire, now: deadline},
	})
}

func TestDecide_DeleteLink(t *testing.T) {
	expiry := t0.Add(time.Hour)
	base := createdAt(&expiry, map[string]string{"a": "1"})
	errNotFound := errWant(domain.ENOTFOUND, domain.ReasonLinkNotFound, "id")
	deleted := []events.Payload{events.LinkDeleted{}}

	runDecide(t, []decideCase{
		{name: "OK", given: []step{base}, cmd: domain.DeleteLink{}, now: t0.Add(time.Minute), want: deleted},
		{name: "OKExpiredByEvent",
			given: []step{base, {Cmd: domain.ExpireLink{Deadline: expiry}, At: expiry}},
			cmd:   domain.DeleteLink{}, now: expiry.Add(time.Minute), want: deleted},
		{name: "OKExpiredByRequest",
			given: []step{base, {Cmd: domain.UpdateLink{Expiry: domain.ExpiryNow}, At: t0.Add(time.Minute)}},
			cmd:   domain.DeleteLink{}, now: t0.Add(2 * time.Minute), want: deleted},
		{name: "OKExpiredByClock", given: []step{base}, cmd: domain.DeleteLink{}, now: expiry, want: deleted},
		{name: "ErrNotFound", cmd: domain.DeleteLink{}, now: t0, wantErr: errNotFound},
		{name: "ErrAlreadyDeleted",
			given: []step{base, {Cmd: domain.DeleteLink{}, At: t0.Add(time.Minute)}},
			cmd:   domain.DeleteLink{}, now: t0.Add(2 * time.Minute), wantErr: errNotFound},
	})
}

func TestDecide_ErrorNamesLink(t *testing.T) {
	state := domain.Link{ID: "link_missing", Mode: testMode}
	_, err := domain.Decide(state, domain.DeleteLink{}, t0)
	e := domain.AsError(err)
	if e == nil || !strings.Contains(e.Message, "link_missing") {
		t.Fatalf("err = %v, want a message naming link_missing", err)
	}
}

func TestDecide_NilCommand(t *testing.T) {
	_, err := domain.Decide(domain.Link{ID: testLinkID, Mode: testMode}, nil, t0)
	checkErr(t, err, errWant(domain.EINTERNAL, domain.ReasonInvalidCommand, ""))
}

// TestSameCreate: a retried create asks for the same link when it names the
// same file, expiry and metadata; it is judged at the time of the first
// request, so an expiry that has passed since still matches.
func TestSameCreate(t *testing.T) {
	hour := t0.Add(time.Hour)
	first := domain.CreateLink{
		Mode: testMode, LinkID: testLinkID, Token: testToken, File: linkableFile(), ExpiresAt: &hour,
		Metadata: domain.MetadataPatch{Set: map[string]string{"a": "1", "gone": ""}},
	}
	payloads, err := domain.Decide(domain.Link{ID: testLinkID, Mode: testMode}, first, t0)
	if err != nil {
		t.Fatal(err)
	}
	created := payloads[0].(events.LinkCreated)
	retry := first
	retry.Token = "another random token"
	if !domain.SameCreate(created, retry, t0) {
		t.Fatal("the same create, with its own token, is not the same")
	}
	if domain.SameCreate(created, retry, hour.Add(time.Minute)) {
		t.Fatal("judged at a time when its expiry had passed, it still matches")
	}
	other := func(change func(*domain.CreateLink)) domain.CreateLink {
		c := retry
		change(&c)
		return c
	}
	nanos := hour.Add(500 * time.Millisecond) // expiries are kept to the second
	if !domain.SameCreate(created, other(func(c *domain.CreateLink) { c.ExpiresAt = &nanos }), t0) {
		t.Error("the same expiry to the second is not the same")
	}
	later := hour.Add(time.Second)
	for name, c := range map[string]domain.CreateLink{
		"other file":     other(func(c *domain.CreateLink) { f := linkableFile(); f.ID = "file_2"; c.File = f }),
		"other expiry":   other(func(c *domain.CreateLink) { c.ExpiresAt = &later }),
		"no expiry":      other(func(c *domain.CreateLink) { c.ExpiresAt = nil }),
		"other metadata": other(func(c *domain.CreateLink) { c.Metadata = domain.MetadataPatch{Set: map[string]string{"a": "2"}} }),
		"no metadata":    other(func(c *domain.CreateLink) { c.Metadata = domain.MetadataPatch{} }),
		"invalid":        other(func(c *domain.CreateLink) { c.File = domain.File{ID: "file_1"} }),
	} {
		if domain.SameCreate(created, c, t0) {
			t.Errorf("%s: the same", name)
		}
	}
}
