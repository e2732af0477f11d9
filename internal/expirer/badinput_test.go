package expirer_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/expirer"
)

// publishRaw stores data on a link subject of class expiry as it is,
// bypassing every check.
func (w *world) publishRaw(id string, data []byte) {
	w.t.Helper()
	if _, err := w.srv.JS.Publish(context.Background(), events.SubjectOf(events.ModeLive, id, events.ClassExpiry), data); err != nil {
		w.t.Fatal(err)
	}
}

// rawCreated is a well-formed LinkCreated for id expiring at expires, which
// the API would have refused (a past expires_at) but a stream may hold.
func rawCreated(t *testing.T, id string, expires time.Time) []byte {
	t.Helper()
	return rawEvent(t, id, 1, events.LinkCreated{FileID: "file_1", Token: "tok_" + id, ExpiresAt: &expires}, expires)
}

// rawEvent is a well-formed event of id at version with payload p, the
// link expiring at expires.
func rawEvent(t *testing.T, id string, version uint64, p events.Payload, expires time.Time) []byte {
	t.Helper()
	at := expires.Add(-time.Hour)
	b, err := events.Marshal(events.Event{
		Envelope: events.Envelope{ID: "evt_" + id + strconv.FormatUint(version, 10), LinkID: id, Mode: events.ModeLive,
			Version: version, Time: at, Audit: events.Audit{Actor: "test"},
			Link: events.LinkState{ID: id, Mode: events.ModeLive, FileID: "file_1", Token: "tok_" + id, Created: at,
				ExpiresAt: &expires, Metadata: map[string]string{}, Version: version}},
		Payload: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExpirer_BadInput: malformed events are poisoned, events of a newer
// schema or an unknown type are skipped, neither stalls the events after
// them; a deadline far in the past fires at once, one in year 9999 stays.
func TestExpirer_BadInput(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e := w.start("expirer")

	w.publishRaw("link_garbage", []byte("not json at all"))
	w.publishRaw("link_truncated", rawCreated(t, "link_truncated", t0.Add(time.Second))[:40])
	w.publishRaw("link_mismatch", []byte(strings.Replace(string(rawCreated(t, "link_mismatch", t0)), `"version":1`, `"version":7`, 1)))
	newer := strings.Replace(string(rawCreated(t, "link_newer", t0.Add(time.Second))), `"schema":1`, `"schema":2`, 1)
	w.publishRaw("link_newer", []byte(newer))
	unknown := strings.Replace(string(rawCreated(t, "link_unknown", t0.Add(time.Second))), `"type":"LinkCreated"`, `"type":"LinkTeleported"`, 1)
	w.publishRaw("link_unknown", []byte(unknown))
	w.publishRaw("link_past", rawCreated(t, "link_past", time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)))
	w.publishRaw("link_far", rawCreated(t, "link_far", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)))
	good := w.create(ptr(t0.Add(10 * time.Second)))
	w.clock.set(t0.Add(11 * time.Second))

	eventually(t, 10*time.Second, "the good and the past link expired", func() bool { return e.Stats().Expired == 2 })
	w.quiesce(e, 3)
	got := w.expiries()
	if len(got[good]) != 1 || len(got["link_past"]) != 1 || len(got) != 2 {
		t.Fatalf("expiries %v", got)
	}
	if d := got["link_past"][0].Payload.(events.LinkExpired).Deadline; d.Year() != 1999 {
		t.Fatalf("past link expired with deadline %s", d)
	}
	s := e.Stats()
	if s.Malformed != 3 || s.Poisoned != 3 || s.Unsupported != 2 || s.Pending != 1 || s.Next.Year() != 9999 {
		t.Fatalf("stats %+v", s)
	}

	// The poisoned copies are in the poison stream, with the reason and
	// where they came from.
	st, err := w.srv.JS.Stream(context.Background(), "FILELINKS_POISON")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != expirer.PoisonSubjectPrefix+".expirer" || string(msg.Data) != "not json at all" ||
		!strings.Contains(msg.Header.Get("reason_poisoned"), "malformed") ||
		msg.Header.Get("filelinks_subject") != events.SubjectOf(events.ModeLive, "link_garbage", events.ClassExpiry) {
		t.Fatalf("poisoned copy: %s %q %v", msg.Subject, msg.Data, msg.Header)
	}
	info, err := st.Info(context.Background())
	if err != nil || info.State.Msgs != 3 {
		t.Fatalf("poison stream: %+v %v", info, err)
	}

	t.Run("Restart", func(t *testing.T) {
		// The unsupported events are read again after a restart (a newer
		// binary would schedule them); the malformed ones are not.
		e.Stop()
		e := w.start("expirer")
		w.quiesce(e, 1)
		if s := e.Stats(); s.Unsupported != 2 || s.Poisoned != 0 || s.Expired != 0 {
			t.Fatalf("after restart: %+v", s)
		}
	})
}

// TestExpirer_Retries: a link whose expiry fails (here its last event
// cannot be read, so the use case cannot load it) stays scheduled and is
// retried with a growing backoff, without spinning, until it succeeds.
func TestExpirer_Retries(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e := w.start("expirer")
	deadline := t0.Add(time.Second)
	w.publishRaw("link_stuck", rawCreated(t, "link_stuck", deadline))
	w.publishRaw("link_stuck", []byte("{broken"))
	w.quiesce(e, 1)
	ticks := e.Stats().Ticks
	w.clock.set(t0.Add(time.Minute))
	eventually(t, 10*time.Second, "two failed attempts", func() bool { return e.Stats().Failures >= 2 })
	s := e.Stats()
	if s.Pending != 1 || s.Retrying != 1 || s.Expired != 0 || s.Poisoned != 1 {
		t.Fatalf("while failing: %+v", s)
	}
	// The recheck is 50ms: two seconds of backoff are a few dozen looks
	// at the schedule, not a spin.
	if n := s.Ticks - ticks; n > 200 {
		t.Fatalf("%d ticks while backing off", n)
	}
	// Repair the link with a readable event: the next retry expires it.
	w.publishRaw("link_stuck", rawEvent(t, "link_stuck", 3, events.LinkUpdated{}, deadline))
	eventually(t, 20*time.Second, "expired after the repair", func() bool { return e.Stats().Expired == 1 })
	w.quiesce(e, 2)
	if s := e.Stats(); s.Pending != 0 || s.Retrying != 0 {
		t.Fatalf("after the repair: %+v", s)
	}
}

// panicky is the use case, except that its first call panics.
type panicky struct {
	expirer.Links
	calls atomic.Int32
}

func (p *panicky) Expire(ctx context.Context, mode events.Mode, id string, deadline time.Time, audit events.Audit) (bool, error) {
	if p.calls.Add(1) == 1 {
		var m map[string]int
		m["boom"]++ // a bug
	}
	return p.Links.Expire(ctx, mode, id, deadline, audit)
}

// TestExpirer_PanicInUseCase: a panic while expiring a link is a failure
// like another: the expirer goes on, and the link is expired on a retry.
func TestExpirer_PanicInUseCase(t *testing.T) {
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e := w.startWith("expirer", &panicky{Links: w.links()})
	id := w.create(ptr(t0.Add(time.Second)))
	w.clock.set(t0.Add(time.Minute))
	eventually(t, 15*time.Second, "expired on the retry", func() bool { return e.Stats().Expired == 1 })
	if s := e.Stats(); s.Failures != 1 || len(w.expiries()[id]) != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestExpirer_ConsumerDeleted: when the consumer disappears while the
// expirer runs, it notices, resubscribes at its checkpoint and goes on.
func TestExpirer_ConsumerDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for missed heartbeats")
	}
	w := newWorld(t)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e := w.start("expirer")
	w.create(ptr(t0.Add(time.Second)))
	w.quiesce(e, 1)
	st, err := w.srv.JS.Stream(context.Background(), "FILELINKS_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConsumer(context.Background(), "expirer"); err != nil {
		t.Fatal(err)
	}
	id := w.create(ptr(t0.Add(2 * time.Second)))
	w.clock.set(t0.Add(time.Minute))
	eventually(t, 40*time.Second, "resubscribed and expired both", func() bool { return e.Stats().Expired == 2 })
	if s := e.Stats(); s.Resyncs == 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := st.Consumer(context.Background(), "expirer"); err != jetstream.ErrNotPullConsumer {
		t.Fatalf("consumer after resync: %v", err)
	}
	if got := w.expiries()[id]; len(got) != 1 {
		t.Fatalf("expiries of the link made while the consumer was gone: %v", got)
	}
}
