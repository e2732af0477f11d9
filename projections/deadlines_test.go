package projections

import (
	"slices"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// The read model answers an expirer's questions: what is due, what comes
// next, and which new deadlines a commit brought.
func TestStore_Deadlines(t *testing.T) {
	s, _ := openStore(t, Options{})
	var told []time.Time
	s.OnDeadline(func(d time.Time) { told = append(told, d) })
	at := func(min int) *time.Time { d := base.Add(time.Duration(min) * time.Minute); return &d }

	st := newStream(t)
	st.create(events.ModeTest, "link_t3", "file_1", base, at(3), nil)
	st.create(events.ModeLive, "link_l1", "file_1", base, at(1), nil)
	st.create(events.ModeTest, "link_t2", "file_1", base, at(2), nil)
	st.create(events.ModeLive, "link_l9", "file_1", base, at(9), nil)
	st.create(events.ModeTest, "link_none", "file_1", base, nil, nil)
	if err := s.Apply(st.recs); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || !told[0].Equal(*at(1)) {
		t.Fatalf("told %v, want the soonest new deadline %v", told, at(1))
	}

	ids := func(es []ScheduleEntry) (out []string) {
		for _, e := range es {
			out = append(out, string(e.Mode)+"/"+e.LinkID+"@"+e.Deadline.Sub(base).String())
		}
		return out
	}
	due, err := s.Due(*at(3), 10, nil)
	if got, want := ids(due), []string{"live/link_l1@1m0s", "test/link_t2@2m0s", "test/link_t3@3m0s"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("due at 3m: %v %v, want %v", got, err, want)
	}
	due, _ = s.Due(*at(3), 2, func(e ScheduleEntry) bool { return e.LinkID == "link_t2" })
	if got, want := ids(due), []string{"live/link_l1@1m0s", "test/link_t3@3m0s"}; !slices.Equal(got, want) {
		t.Fatalf("due with a skip and a limit: %v, want %v", got, want)
	}
	if due, _ := s.Due(base, 10, nil); len(due) != 0 {
		t.Fatalf("due before any deadline: %v", ids(due))
	}
	for _, c := range []struct {
		after time.Time
		want  *time.Time
	}{{base, at(1)}, {*at(1), at(2)}, {*at(3), at(9)}, {*at(9), nil}} {
		next, ok := s.NextAfter(c.after)
		if (c.want == nil) != !ok || (ok && !next.Equal(*c.want)) {
			t.Fatalf("next after %v: %v %v, want %v", c.after, next, ok, c.want)
		}
	}

	// Expired, deleted and moved links leave (or move in) the index; only
	// the move is a new deadline.
	told = nil
	from := len(st.recs)
	st.expire(events.ModeLive, "link_l1")
	st.delete(events.ModeTest, "link_t2", base)
	st.update(events.ModeTest, "link_t3", base, domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: *at(5)})
	st.update(events.ModeLive, "link_l9", base, domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"k": "v"}}})
	if err := s.Apply(st.recs[from:]); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || !told[0].Equal(*at(5)) {
		t.Fatalf("told %v, want only the moved deadline %v", told, at(5))
	}
	due, _ = s.Due(*at(9), 10, nil)
	if got, want := ids(due), []string{"test/link_t3@5m0s", "live/link_l9@9m0s"}; !slices.Equal(got, want) {
		t.Fatalf("due after expire, delete and move: %v, want %v", got, want)
	}

	s.OnDeadline(nil)
	told = nil
	from = len(st.recs)
	st.create(events.ModeTest, "link_new", "file_1", base, at(4), nil)
	if err := s.Apply(st.recs[from:]); err != nil {
		t.Fatal(err)
	}
	if len(told) != 0 {
		t.Fatalf("told %v after OnDeadline(nil)", told)
	}
}
