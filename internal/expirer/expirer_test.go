package expirer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/expirer"
)

// TestExpirer_Deadlines runs on the real clock: links due 1-2s ahead get
// exactly one LinkExpired each, with reason deadline and their deadline;
// links updated to a later deadline, cleared, expired by hand or deleted
// before their deadline get none from the expirer.
func TestExpirer_Deadlines(t *testing.T) {
	w := newWorld(t)
	e := w.start("expirer")
	due, spared, later := w.scenario()
	far := w.create(ptr(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)))

	eventually(t, 15*time.Second, "due links expired", func() bool { return e.Stats().Expired == uint64(len(due)) })
	w.quiesce(e, 3)
	w.checkExpiries(due, append(spared, far))
	s := e.Stats()
	if s.Pending != 2 || !s.Next.Equal(later) || s.Lateness.Count != uint64(len(due)) || s.Poisoned != 0 {
		t.Fatalf("stats %+v: want 2 pending (moved, year 9999), next %s", s, later)
	}
	t.Logf("lateness p50 ≤ %s, max %s", s.Lateness.Quantile(0.5), s.Lateness.Max)
	// The expirer was sent the events of class expiry and no others.
	all := w.history()
	var want uint64
	for _, ev := range all {
		if events.ClassOf(ev.Payload) == events.ClassExpiry {
			want++
		}
	}
	if s.Received != want || want == uint64(len(all)) {
		t.Errorf("the expirer took %d events; the stream holds %d, %d of class expiry", s.Received, len(all), want)
	}
	// The handler decoded every message it was sent.
	if s.Malformed != 0 || s.Unsupported != 0 {
		t.Errorf("%d messages malformed, %d unsupported; want every one decoded", s.Malformed, s.Unsupported)
	}
}

// TestExpirer_TwoExpirers runs two expirers on one stream, each with its own
// consumer and schedule: each link gets exactly one LinkExpired.
func TestExpirer_TwoExpirers(t *testing.T) {
	w := newWorld(t)
	a, b := w.start("expirer-a"), w.start("expirer-b")
	soon := time.Now().Truncate(time.Second).Add(2 * time.Second)
	ids := map[string]bool{}
	for range 60 {
		ids[w.create(ptr(soon))] = true
	}
	eventually(t, 20*time.Second, "every link expired", func() bool {
		return a.Stats().Expired+b.Stats().Expired == uint64(len(ids))
	})
	w.quiesce(a, 3)
	w.quiesce(b, 3)
	got := w.expiries()
	for id := range ids {
		if n := len(got[id]); n != 1 {
			t.Fatalf("%s: %d LinkExpired, want exactly 1", id, n)
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("%d links expired, want %d", len(got), len(ids))
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Pending != 0 || sb.Pending != 0 {
		t.Fatalf("pending after: %d, %d", sa.Pending, sb.Pending)
	}
	t.Logf("a expired %d (noops %d), b expired %d (noops %d)", sa.Expired, sa.NoOps, sb.Expired, sb.NoOps)
}

// TestExpirer_Downtime: links that came due while no expirer ran are
// expired at start, and the restart reads only the events it missed.
func TestExpirer_Downtime(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	before := w.create(ptr(t0.Add(10 * time.Second)))
	e := w.start("expirer")
	w.quiesce(e, 1)
	if e.Stats().Pending != 1 {
		t.Fatalf("pending %d", e.Stats().Pending)
	}
	e.Stop()

	// While it is down: new links, one deleted, and the clock passes
	// every deadline.
	during := w.create(ptr(t0.Add(20 * time.Second)))
	gone := w.create(ptr(t0.Add(5 * time.Second)))
	w.run(events.ModeLive, gone, domain.DeleteLink{})
	w.clock.set(t0.Add(time.Minute))

	e = w.start("expirer")
	eventually(t, 10*time.Second, "missed deadlines expired", func() bool { return e.Stats().Expired == 2 })
	w.quiesce(e, 2)
	got := w.expiries()
	if len(got[before]) != 1 || len(got[during]) != 1 || len(got[gone]) != 0 {
		t.Fatalf("expiries: before %d, during %d, deleted %d", len(got[before]), len(got[during]), len(got[gone]))
	}
	if p := got[before][0].Payload.(events.LinkExpired); !p.Deadline.Equal(t0.Add(10*time.Second)) || !got[before][0].Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("late expiry: %+v at %s", p, got[before][0].Time)
	}
	// It read the three events appended while it was down and the two
	// LinkExpired it appended, not the stream from the start.
	if s := e.Stats(); s.Received != 5 || s.Pending != 0 || s.Lateness.Max < 40*time.Second {
		t.Fatalf("after restart: %+v", s)
	}
}

// TestExpirer_Reposition: a missing consumer, or a schedule file deleted
// (checkpoint 0, consumer far ahead), is put right at start from the
// schedule's checkpoint.
func TestExpirer_Reposition(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	var ids []string
	for i := range 10 {
		ids = append(ids, w.create(ptr(t0.Add(time.Duration(10+i)*time.Second))))
	}
	e := w.start("expirer")
	w.quiesce(e, 1)
	e.Stop()

	t.Run("ConsumerMissing", func(t *testing.T) {
		st, err := w.srv.JS.Stream(context.Background(), "FILELINKS_EVENTS")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteConsumer(context.Background(), "expirer"); err != nil {
			t.Fatal(err)
		}
		w.create(ptr(t0.Add(time.Hour)))
		e := w.start("expirer")
		w.quiesce(e, 1)
		if s := e.Stats(); s.Received != 1 || s.Pending != 11 {
			t.Fatalf("after the consumer was deleted: %+v", s)
		}
		e.Stop()
	})

	t.Run("ScheduleDeleted", func(t *testing.T) {
		other := w.start("expirer-fresh")
		w.quiesce(other, 1)
		if s := other.Stats(); s.Received != 11 || s.Pending != 11 {
			t.Fatalf("fresh schedule: %+v", s)
		}
	})
}

// TestExpirer_ClockJumps: a clock set forward fires what became due, once;
// a clock set back fires nothing until it passes the deadline again.
func TestExpirer_ClockJumps(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e := w.start("expirer")
	a := w.create(ptr(t0.Add(10 * time.Second)))
	b := w.create(ptr(t0.Add(20 * time.Second)))
	w.quiesce(e, 1)

	w.clock.set(t0.Add(15 * time.Second))
	eventually(t, 10*time.Second, "a expired", func() bool { return e.Stats().Expired == 1 })
	w.clock.set(t0)
	w.quiesce(e, 5)
	w.clock.set(t0.Add(12 * time.Second))
	w.quiesce(e, 5)
	if s := e.Stats(); s.Expired != 1 || s.Pending != 1 {
		t.Fatalf("after the clock went back: %+v", s)
	}
	w.clock.set(t0.Add(time.Hour))
	eventually(t, 10*time.Second, "b expired", func() bool { return e.Stats().Expired == 2 })
	w.quiesce(e, 3)
	got := w.expiries()
	if len(got[a]) != 1 || len(got[b]) != 1 || !got[a][0].Time.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("expiries: %v", got)
	}
}

// TestExpirer_MovedManyTimes: a deadline moved many times in a row, each
// time just before it came, expires once, at the last.
func TestExpirer_MovedManyTimes(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e := w.start("expirer")
	id := w.create(ptr(t0.Add(time.Second)))
	for i := 2; i <= 40; i++ {
		w.clock.set(t0.Add(time.Duration(i-1)*time.Second - time.Millisecond))
		w.run(events.ModeLive, id, domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(time.Duration(i) * time.Second)})
	}
	w.clock.set(t0.Add(time.Minute))
	eventually(t, 10*time.Second, "expired", func() bool { return e.Stats().Expired == 1 })
	w.quiesce(e, 3)
	got := w.expiries()[id]
	if len(got) != 1 || !got[0].Payload.(events.LinkExpired).Deadline.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("expiries %v", got)
	}
	if s := e.Stats(); s.Pending != 0 || s.Expired != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestExpirer_SameName: a second expirer with a running one's name is
// refused instead of splitting its consumer's events (which would break
// their order).
func TestExpirer_SameName(t *testing.T) {
	w := newWorld(t)
	w.start("expirer")
	_, err := expirer.Start(context.Background(), expirer.Config{SchedulePath: filepath.Join(w.dir, "other.db"), Name: "expirer"},
		expirer.Deps{Conn: w.srv.Conn, Links: w.links(), Logger: testLogger()})
	if !errors.Is(err, expirer.ErrInUse) {
		t.Fatalf("second expirer of the same name: %v", err)
	}
}
