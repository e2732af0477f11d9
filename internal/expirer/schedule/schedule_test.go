package schedule_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

var t0 = time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)

// feed builds a stream of records for schedule tests, numbering them.
type feed struct {
	t       testing.TB
	seq     uint64
	version map[string]uint64
}

func newFeed(t testing.TB) *feed { return &feed{t: t, version: map[string]uint64{}} }

// link appends an event of id whose state after it has the given expiry
// fields; p decides the event type.
func (f *feed) link(p events.Payload, id string, expiresAt, expiredAt, deletedAt *time.Time) events.Record {
	f.t.Helper()
	f.version[id]++
	v := f.version[id]
	f.seq++
	e := events.Event{
		Envelope: events.Envelope{
			ID: "evt_" + id + "_" + string(rune('a'+v)), LinkID: id, Mode: events.ModeLive, Version: v, Time: t0,
			Audit: events.Audit{Actor: "test"},
			Link: events.LinkState{ID: id, Mode: events.ModeLive, FileID: "file_1", Token: "tok", Created: t0,
				ExpiresAt: expiresAt, ExpiredAt: expiredAt, DeletedAt: deletedAt, Version: v},
		},
		Payload: p,
	}
	b, err := events.Marshal(e)
	if err != nil {
		f.t.Fatal(err)
	}
	return events.Record{Seq: f.seq, Subject: events.Subject(events.ModeLive, id), Data: b}
}

func (f *feed) raw(subject string, data string) events.Record {
	f.seq++
	return events.Record{Seq: f.seq, Subject: subject, Data: []byte(data)}
}

var quiet = schedule.Options{Logger: slog.New(slog.DiscardHandler)}

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func openSchedule(t *testing.T, path string) *schedule.Schedule {
	t.Helper()
	s, err := schedule.Open(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// due returns "id@offset" for every entry due at now, in order.
func due(t *testing.T, s *schedule.Schedule, now time.Time) []string {
	t.Helper()
	es, err := s.Due(now, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.LinkID + "@" + e.Deadline.Sub(t0).String()
	}
	return out
}

func TestSchedule_Apply(t *testing.T) {
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	s := openSchedule(t, filepath.Join(t.TempDir(), "schedule.db"))
	f := newFeed(t)
	recs := []events.Record{
		f.link(events.LinkCreated{}, "link_a", at(10*time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_moved", at(5*time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_cleared", at(5*time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_never", nil, nil, nil),
		f.link(events.LinkCreated{}, "link_byhand", at(5*time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_deleted", at(5*time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_far", &far, nil, nil),
		f.link(events.LinkCreated{}, "link_past", at(-30*365*24*time.Hour), nil, nil),
		f.link(events.LinkUpdated{}, "link_cleared", nil, nil, nil),
		f.link(events.LinkExpired{}, "link_byhand", at(time.Second), at(time.Second), nil),
		f.link(events.LinkDeleted{}, "link_deleted", at(5*time.Second), nil, at(2*time.Second)),
		f.raw(events.FileSubject(events.ModeLive, "file_1"), `{"schema":1,"type":"FileCreated"}`),
		f.raw(events.Subject(events.ModeLive, "link_bad"), `{"schema":1,"type":"LinkCreated"`),
	}
	// A deadline moved many times in a row leaves one entry, the last.
	for i := 1; i <= 50; i++ {
		recs = append(recs, f.link(events.LinkUpdated{}, "link_moved", at(time.Duration(5+i)*time.Second), nil, nil))
	}
	if err := s.Apply(recs); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Checkpoint != f.seq || st.Pending != 4 || st.Malformed != 1 {
		t.Fatalf("stats %+v, want checkpoint %d, 4 pending, 1 malformed", st, f.seq)
	}
	if got, want := due(t, s, t0.Add(60*time.Second)), []string{"link_past@-262800h0m0s", "link_a@10s", "link_moved@55s"}; !slices.Equal(got, want) {
		t.Fatalf("due = %v, want %v", got, want)
	}
	if got := due(t, s, t0.Add(54*time.Second)); len(got) != 2 {
		t.Fatalf("due before the moved deadline = %v", got)
	}
	next, ok := s.Next()
	if !ok || !next.Equal(*at(-30 * 365 * 24 * time.Hour)) {
		t.Fatalf("Next = %v %v", next, ok)
	}
	next, ok = s.NextAfter(t0.Add(55 * time.Second))
	if !ok || next.Year() != 9999 {
		t.Fatalf("NextAfter the last near deadline = %v %v, want year 9999", next, ok)
	}
	if _, ok := s.NextAfter(far); ok {
		t.Fatal("NextAfter the last deadline found one")
	}

	t.Run("Idempotent", func(t *testing.T) {
		if err := s.Apply(recs[:5]); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Pending != 4 || st.Checkpoint != f.seq {
			t.Fatalf("after a replayed batch: %+v", st)
		}
	})

	t.Run("ExpiredRemoves", func(t *testing.T) {
		if err := s.Apply([]events.Record{f.link(events.LinkExpired{}, "link_a", at(10*time.Second), at(11*time.Second), nil)}); err != nil {
			t.Fatal(err)
		}
		if got := due(t, s, t0.Add(60*time.Second)); slices.Contains(got, "link_a@10s") || s.Pending() != 3 {
			t.Fatalf("after LinkExpired: %v, %d pending", got, s.Pending())
		}
	})
}

func TestSchedule_Due(t *testing.T) {
	s := openSchedule(t, filepath.Join(t.TempDir(), "schedule.db"))
	f := newFeed(t)
	var recs []events.Record
	for _, id := range []string{"link_c", "link_a", "link_b"} {
		recs = append(recs, f.link(events.LinkCreated{}, id, at(time.Second), nil, nil))
	}
	recs = append(recs, f.link(events.LinkCreated{}, "link_0", at(0), nil, nil))
	if err := s.Apply(recs); err != nil {
		t.Fatal(err)
	}
	if got := due(t, s, t0.Add(-time.Nanosecond)); len(got) != 0 {
		t.Fatalf("due 1ns early: %v", got)
	}
	if got := due(t, s, t0); !slices.Equal(got, []string{"link_0@0s"}) {
		t.Fatalf("due exactly at the deadline: %v", got)
	}
	es, err := s.Due(t0.Add(time.Second), 2, func(e schedule.Entry) bool { return e.LinkID == "link_0" })
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].LinkID != "link_a" || es[1].LinkID != "link_b" || es[0].Mode != events.ModeLive {
		t.Fatalf("due with skip and limit: %+v", es)
	}
}

func TestSchedule_Remove(t *testing.T) {
	s := openSchedule(t, filepath.Join(t.TempDir(), "schedule.db"))
	f := newFeed(t)
	if err := s.Apply([]events.Record{
		f.link(events.LinkCreated{}, "link_a", at(time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_b", at(time.Second), nil, nil),
	}); err != nil {
		t.Fatal(err)
	}
	fired, err := s.Due(t0.Add(time.Second), 10, nil)
	if err != nil || len(fired) != 2 {
		t.Fatalf("due: %v %v", fired, err)
	}
	// link_b's deadline moves while its old one is being fired.
	if err := s.Apply([]events.Record{f.link(events.LinkUpdated{}, "link_b", at(time.Hour), nil, nil)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Remove(append(fired, schedule.Entry{Mode: events.ModeLive, LinkID: "link_unknown", Deadline: t0}))
	if err != nil || n != 1 {
		t.Fatalf("Remove = %d, %v; want only link_a removed", n, err)
	}
	if got := due(t, s, t0.Add(2*time.Hour)); !slices.Equal(got, []string{"link_b@1h0m0s"}) || s.Pending() != 1 {
		t.Fatalf("after Remove: %v, %d pending", got, s.Pending())
	}
}

func TestSchedule_Restart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.db")
	s, err := schedule.Open(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	f := newFeed(t)
	recs := []events.Record{
		f.link(events.LinkCreated{}, "link_a", at(time.Second), nil, nil),
		f.link(events.LinkCreated{}, "link_b", at(2*time.Second), nil, nil),
	}
	if err := s.Apply(recs); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrLocked", func(t *testing.T) {
		_, err := schedule.Open(path, schedule.Options{Timeout: 100 * time.Millisecond})
		if !errors.Is(err, schedule.ErrLocked) || !strings.Contains(err.Error(), "no lock after 100ms") {
			t.Fatalf("second open: %v, want ErrLocked after the timeout it was given", err)
		}
	})

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSchedule(t, path)
	if st := s.Stats(); st.Checkpoint != 2 || st.Pending != 2 {
		t.Fatalf("after reopen: %+v", st)
	}
	if err := s.Apply(recs); err != nil || s.Pending() != 2 {
		t.Fatalf("replay after reopen: %v, %d pending", err, s.Pending())
	}
	if got := due(t, s, t0.Add(time.Minute)); !slices.Equal(got, []string{"link_a@1s", "link_b@2s"}) {
		t.Fatalf("due after reopen: %v", got)
	}
}

// TestSchedule_Unsupported: an event of a newer schema is skipped without
// stopping the schedule, and the next open rereads the stream from it.
func TestSchedule_Unsupported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.db")
	s, err := schedule.Open(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	f := newFeed(t)
	created := f.link(events.LinkCreated{}, "link_a", at(time.Second), nil, nil)
	newer := f.link(events.LinkUpdated{}, "link_a", at(time.Hour), nil, nil)
	newer.Data = []byte(strings.Replace(string(newer.Data), `"schema":1`, `"schema":2`, 1))
	unknown := f.link(events.LinkUpdated{}, "link_a", nil, nil, nil)
	unknown.Data = []byte(strings.Replace(string(unknown.Data), `"type":"LinkUpdated"`, `"type":"LinkTeleported"`, 1))
	later := f.link(events.LinkCreated{}, "link_b", at(time.Second), nil, nil)
	if err := s.Apply([]events.Record{created, newer, unknown, later}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Unsupported != 2 || st.Pending != 2 || st.Checkpoint != 4 {
		t.Fatalf("stats %+v, want 2 unsupported skipped, 2 pending, checkpoint 4", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSchedule(t, path)
	if ck := s.Checkpoint(); ck != newer.Seq-1 {
		t.Fatalf("checkpoint after reopen = %d, want %d (reread from the first unsupported event)", ck, newer.Seq-1)
	}
	if err := s.Apply([]events.Record{newer, unknown, later}); err != nil {
		t.Fatal(err)
	}
	if s.Pending() != 2 || s.Checkpoint() != 4 {
		t.Fatalf("after the reread: %+v", s.Stats())
	}
}
