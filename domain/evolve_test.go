package domain_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// diffLink returns "" when a and b describe the same link: times compared by
// instant, metadata by content (both must be non-nil: readers range over it).
func diffLink(a, b domain.Link) string {
	var d string
	add := func(field string, x, y any) { d += fmt.Sprintf("\n  %s: %v != %v", field, x, y) }
	if a.ID != b.ID {
		add("ID", a.ID, b.ID)
	}
	if a.Mode != b.Mode {
		add("Mode", a.Mode, b.Mode)
	}
	if a.FileID != b.FileID {
		add("FileID", a.FileID, b.FileID)
	}
	if a.Token != b.Token {
		add("Token", a.Token, b.Token)
	}
	if !a.Created.Equal(b.Created) {
		add("Created", a.Created, b.Created)
	}
	for _, f := range []struct {
		name string
		x, y *time.Time
	}{{"ExpiresAt", a.ExpiresAt, b.ExpiresAt}, {"ExpiredAt", a.ExpiredAt, b.ExpiredAt}, {"DeletedAt", a.DeletedAt, b.DeletedAt}} {
		if !sameTime(f.x, f.y) {
			add(f.name, fmtTime(f.x), fmtTime(f.y))
		}
	}
	if !maps.Equal(a.Metadata, b.Metadata) || (a.Metadata == nil) != (b.Metadata == nil) {
		add("Metadata", a.Metadata, b.Metadata)
	}
	if a.Version != b.Version {
		add("Version", a.Version, b.Version)
	}
	return d
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.Format(time.RFC3339Nano)
}

func fold(evs []events.Event) domain.Link {
	var l domain.Link
	for _, e := range evs {
		l = domain.Evolve(l, e)
	}
	return l
}

func TestEvolve_FoldMatchesSnapshot(t *testing.T) {
	exp := t0.Add(time.Hour)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	update := func(u domain.UpdateLink, d time.Duration) step { return step{Cmd: u, At: at(d)} }
	md := func(set map[string]string) domain.MetadataPatch { return domain.MetadataPatch{Set: set} }

	histories := []struct {
		name  string
		steps []step
	}{
		{name: "CreateOnly", steps: []step{createdAt(nil, nil)}},
		{name: "CreateWithExpiryAndMetadata", steps: []step{createdAt(&exp, map[string]string{"a": "1"})}},
		{name: "MetadataAndExpiryChanges", steps: []step{
			createdAt(&exp, map[string]string{"a": "1", "b": "2"}),
			update(domain.UpdateLink{Metadata: md(map[string]string{"a": "", "c": "3"})}, time.Minute),
			update(domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: at(2 * time.Hour)}, 2*time.Minute),
			update(domain.UpdateLink{Expiry: domain.ExpiryClear, Metadata: md(map[string]string{"b": "x"})}, 3*time.Minute),
			update(domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true}}, 4*time.Minute),
			update(domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: map[string]string{"d": "4"}}}, 5*time.Minute),
			update(domain.UpdateLink{Metadata: md(map[string]string{"e": "5"})}, 6*time.Minute),
			update(domain.UpdateLink{Metadata: domain.MetadataPatch{Clear: true, Set: map[string]string{"d": "4"}}}, 7*time.Minute),
		}},
		{name: "ExpireNowWithMetadataThenDelete", steps: []step{
			createdAt(&exp, map[string]string{"a": "1"}),
			// Two events sealed together: LinkUpdated then LinkExpired.
			update(domain.UpdateLink{Expiry: domain.ExpiryNow, Metadata: md(map[string]string{"b": "2"})}, time.Minute+300*time.Millisecond),
			{Cmd: domain.DeleteLink{}, At: at(2 * time.Minute)},
		}},
		{name: "ExpireAtDeadlineThenDelete", steps: []step{
			createdAt(&exp, map[string]string{"a": "1"}),
			update(domain.UpdateLink{Metadata: md(keys("k", 40))}, time.Minute),
			{Cmd: domain.ExpireLink{Deadline: exp}, At: exp.Add(3 * time.Second)},
			{Cmd: domain.DeleteLink{}, At: exp.Add(time.Hour)},
		}},
		{name: "DeleteLive", steps: []step{
			createdAt(nil, nil),
			{Cmd: domain.DeleteLink{}, At: at(time.Second)},
		}},
	}
	for _, h := range histories {
		t.Run(h.name, func(t *testing.T) {
			state, evs := given(t, h.steps...)

			var l domain.Link
			for i, e := range evs {
				if e.Version != uint64(i+1) || e.Link.Version != e.Version {
					t.Fatalf("event %d: version %d, link version %d, want %d", i, e.Version, e.Link.Version, i+1)
				}
				l = domain.Evolve(l, e)
				if d := diffLink(l, domain.FromState(e.Link)); d != "" {
					t.Fatalf("after event %d (%s), fold != snapshot:%s", i, e.Type, d)
				}
			}
			if d := diffLink(l, state); d != "" {
				t.Errorf("fold != state returned by Seal:%s", d)
			}

			// The same holds for the stored bytes, which is what readers see.
			decoded := make([]events.Event, len(evs))
			for i, e := range evs {
				b, err := events.Marshal(e)
				if err != nil {
					t.Fatalf("Marshal event %d: %v", i, err)
				}
				if decoded[i], err = events.Unmarshal(b); err != nil {
					t.Fatalf("Unmarshal event %d: %v", i, err)
				}
			}
			last := decoded[len(decoded)-1]
			if d := diffLink(fold(decoded), domain.FromState(last.Link)); d != "" {
				t.Errorf("fold of decoded events != decoded snapshot:%s", d)
			}
			if d := diffLink(fold(decoded), state); d != "" {
				t.Errorf("fold of decoded events != state before encoding:%s", d)
			}
		})
	}
}

func TestEvolve_Fields(t *testing.T) {
	exp := t0.Add(time.Hour)
	requestAt := t0.Add(time.Minute + 400*time.Millisecond)

	t.Run("Created", func(t *testing.T) {
		l, _ := given(t, createdAt(&exp, map[string]string{"a": "1"}))
		want := domain.Link{ID: testLinkID, Mode: testMode, FileID: "file_1", Token: testToken, Created: t0,
			ExpiresAt: &exp, Metadata: map[string]string{"a": "1"}, Version: 1}
		if d := diffLink(l, want); d != "" {
			t.Fatalf("state:%s", d)
		}
		if !l.Exists() || l.Expired(t0) {
			t.Errorf("Exists = %v, Expired(t0) = %v, want true, false", l.Exists(), l.Expired(t0))
		}
	})
	t.Run("CreatedNoMetadata", func(t *testing.T) {
		l, _ := given(t, createdAt(nil, nil))
		if l.Metadata == nil || len(l.Metadata) != 0 {
			t.Fatalf("Metadata = %#v, want an empty, non-nil map", l.Metadata)
		}
	})
	t.Run("ExpiredByDeadline", func(t *testing.T) {
		at := exp.Add(2 * time.Second)
		l, _ := given(t, createdAt(&exp, nil), step{Cmd: domain.ExpireLink{Deadline: exp}, At: at})
		if !sameTime(l.ExpiredAt, &at) || !sameTime(l.ExpiresAt, &exp) || l.Version != 2 {
			t.Fatalf("ExpiredAt %s ExpiresAt %s Version %d, want %s %s 2", fmtTime(l.ExpiredAt), fmtTime(l.ExpiresAt), l.Version, at, exp)
		}
		if !l.Exists() {
			t.Error("an expired link must still exist")
		}
	})
	t.Run("ExpiredByRequest", func(t *testing.T) {
		l, _ := given(t, createdAt(&exp, nil), step{Cmd: domain.UpdateLink{Expiry: domain.ExpiryNow}, At: requestAt})
		wantExpires := t0.Add(time.Minute)
		if !sameTime(l.ExpiredAt, &requestAt) || !sameTime(l.ExpiresAt, &wantExpires) {
			t.Fatalf("ExpiredAt %s ExpiresAt %s, want %s %s", fmtTime(l.ExpiredAt), fmtTime(l.ExpiresAt), requestAt, wantExpires)
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		at := t0.Add(time.Minute)
		l, _ := given(t, createdAt(&exp, map[string]string{"a": "1"}), step{Cmd: domain.DeleteLink{}, At: at})
		if !sameTime(l.DeletedAt, &at) || l.Exists() || l.Version != 2 || l.Metadata["a"] != "1" {
			t.Fatalf("DeletedAt %s Exists %v Version %d Metadata %v", fmtTime(l.DeletedAt), l.Exists(), l.Version, l.Metadata)
		}
	})
}

func TestEvolve_DoesNotMutatePreviousMetadata(t *testing.T) {
	exp := t0.Add(time.Hour)
	ev := func(p events.Payload) events.Event {
		return events.Event{Envelope: events.Envelope{ID: "evt_x", LinkID: testLinkID, Mode: testMode, Version: 2, Time: t0.Add(time.Minute)}, Payload: p}
	}
	for _, tc := range []struct {
		name string
		p    events.Payload
	}{
		{"UpdatedSet", events.LinkUpdated{MetadataSet: map[string]string{"a": "x", "c": "3"}}},
		{"UpdatedUnset", events.LinkUpdated{MetadataUnset: []string{"a"}}},
		{"UpdatedCleared", events.LinkUpdated{MetadataCleared: true, MetadataSet: map[string]string{"c": "3"}}},
		{"UpdatedExpiry", events.LinkUpdated{ExpiresAtCleared: true}},
		{"Expired", events.LinkExpired{Reason: events.ReasonRequested, Deadline: t0.Add(time.Minute)}},
		{"Deleted", events.LinkDeleted{}},
		{"Created", events.LinkCreated{FileID: "file_2", Token: "tok_2", Metadata: map[string]string{"z": "9"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, _ := given(t, createdAt(&exp, map[string]string{"a": "1", "b": "2"}))
			want := maps.Clone(prev.Metadata)

			next := domain.Evolve(prev, ev(tc.p))

			if !maps.Equal(prev.Metadata, want) {
				t.Fatalf("Evolve changed the previous metadata to %v, was %v", prev.Metadata, want)
			}
			if _, ok := tc.p.(events.LinkUpdated); ok {
				// An update builds a new map: writing to it leaves prev alone.
				next.Metadata["a"] = "written"
				if !maps.Equal(prev.Metadata, want) {
					t.Fatalf("the new state shares its metadata map with the previous one")
				}
			}
		})
	}

	t.Run("CreatedDoesNotShareThePayloadMap", func(t *testing.T) {
		p := events.LinkCreated{FileID: "file_1", Token: testToken, Metadata: map[string]string{"a": "1"}}
		l := domain.Evolve(domain.Link{}, events.Event{Envelope: events.Envelope{LinkID: testLinkID, Mode: testMode, Version: 1, Time: t0}, Payload: p})
		p.Metadata["a"] = "changed"
		if l.Metadata["a"] != "1" {
			t.Fatalf("state metadata follows the payload's map: %v", l.Metadata)
		}
	})
}

func TestLink_Expired(t *testing.T) {
	exp := t0.Add(time.Hour)
	expiredAt := t0.Add(time.Minute)
	for _, tc := range []struct {
		name string
		link domain.Link
		now  time.Time
		want bool
	}{
		{"NoExpiry", domain.Link{Version: 1}, t0.Add(100 * 365 * 24 * time.Hour), false},
		{"BeforeExpiresAt", domain.Link{Version: 1, ExpiresAt: &exp}, exp.Add(-time.Nanosecond), false},
		{"AtExpiresAt", domain.Link{Version: 1, ExpiresAt: &exp}, exp, true},
		{"AfterExpiresAt", domain.Link{Version: 1, ExpiresAt: &exp}, exp.Add(time.Nanosecond), true},
		{"AtExpiresAtOtherZone", domain.Link{Version: 1, ExpiresAt: &exp}, exp.In(time.FixedZone("X", 7*3600)), true},
		{"ExpiredByEventNoExpiresAt", domain.Link{Version: 2, ExpiredAt: &expiredAt}, t0, true},
		{"ExpiredByEventBeforeExpiresAt", domain.Link{Version: 2, ExpiresAt: &exp, ExpiredAt: &expiredAt}, t0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.link.Expired(tc.now); got != tc.want {
				t.Fatalf("Expired(%s) = %v, want %v", tc.now.Format(time.RFC3339Nano), got, tc.want)
			}
		})
	}

	t.Run("EvolvedBoundary", func(t *testing.T) {
		l, _ := given(t, createdAt(&exp, nil))
		if l.Expired(exp.Add(-time.Nanosecond)) || !l.Expired(exp) {
			t.Fatalf("Expired just before / at expires_at = %v / %v, want false / true",
				l.Expired(exp.Add(-time.Nanosecond)), l.Expired(exp))
		}
	})
}
