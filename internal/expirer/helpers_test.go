package expirer_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/app"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// clock is a settable clock; zero reads the system clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time {
	if n := c.ns.Load(); n != 0 {
		return time.Unix(0, n).UTC()
	}
	return time.Now()
}
func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// world is a JetStream server with the event log, the clock every part reads
// and a directory for schedule files.
type world struct {
	t     *testing.T
	srv   *natstest.Server
	log   *eventlog.Log
	clock *clock
	dir   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := natstest.Start(t)
	log, err := eventlog.Open(context.Background(), srv.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, srv: srv, log: log, clock: &clock{}, dir: t.TempDir()}
}

func testLogger() *slog.Logger {
	if os.Getenv("FILELINKS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// links is the use case the expirer calls, as cmd/expirer builds it.
func (w *world) links() *app.Links {
	return &app.Links{Log: w.log, NewID: randid.New, NewToken: randid.Token, Now: w.clock.now}
}

// start starts an expirer named name with its schedule in the world's
// directory; it is stopped when the test ends.
func (w *world) start(name string) *expirer.Expirer {
	w.t.Helper()
	return w.startWith(name, w.links())
}

// startWith is start with links in place of the use case.
func (w *world) startWith(name string, links expirer.Links) *expirer.Expirer {
	w.t.Helper()
	e, err := expirer.Start(context.Background(), expirer.Config{
		SchedulePath: filepath.Join(w.dir, name+".db"), Name: name,
		Recheck: 50 * time.Millisecond, SummaryInterval: -1,
	}, expirer.Deps{Conn: w.srv.Conn, Links: links, Now: w.clock.now, Logger: testLogger()})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(e.Stop)
	return e
}

// run applies a command to a link through the event log, as the API does,
// at the world's clock.
func (w *world) run(mode events.Mode, id string, cmd domain.Command) {
	w.t.Helper()
	decide := func(state domain.Link) ([]events.Event, error) {
		now := w.clock.now().UTC().Truncate(time.Millisecond)
		payloads, err := domain.Decide(state, cmd, now)
		if err != nil || len(payloads) == 0 {
			return nil, err
		}
		ids := make([]string, len(payloads))
		for i := range ids {
			ids[i] = randid.New("evt_")
		}
		evs, _ := domain.Seal(id, mode, state, payloads, now, events.Audit{Actor: "test"}, ids)
		return evs, nil
	}
	var err error
	if _, ok := cmd.(domain.CreateLink); ok {
		_, _, err = w.log.Create(context.Background(), mode, id, decide)
	} else {
		_, _, err = w.log.Update(context.Background(), mode, id, decide)
	}
	if err != nil {
		w.t.Fatalf("%T on %s: %v", cmd, id, err)
	}
}

// create makes a live link expiring at expires (nil: never) and returns its
// id.
func (w *world) create(expires *time.Time) string {
	w.t.Helper()
	id := randid.New("link_")
	w.run(events.ModeLive, id, domain.CreateLink{
		Mode: events.ModeLive, LinkID: id, Token: randid.Token(), ExpiresAt: expires,
		File: domain.File{ID: "file_1", Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"},
	})
	return id
}

// history reads every link event in the stream, in order.
func (w *world) history() []events.Event {
	w.t.Helper()
	last, err := w.log.LastSequence(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	var out []events.Event
	if last == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = w.log.Follow(ctx, 1, func(recs []events.Record) error {
		for _, r := range recs {
			if e, err := events.Unmarshal(r.Data); err == nil {
				out = append(out, e)
			}
			if r.Seq >= last {
				cancel()
			}
		}
		return nil
	}, 0, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// expiries returns the LinkExpired events of reason deadline by link.
func (w *world) expiries() map[string][]events.Event {
	out := map[string][]events.Event{}
	for _, e := range w.history() {
		if p, ok := e.Payload.(events.LinkExpired); ok && p.Reason == events.ReasonDeadline {
			out[e.LinkID] = append(out[e.LinkID], e)
		}
	}
	return out
}

// eventually polls cond until it holds, failing the test after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quiesce waits until e's timer has looked at the schedule n more times
// and its feed has taken every event in the stream: whatever it would do at
// the current clock, it has done.
func (w *world) quiesce(e *expirer.Expirer, n uint64) {
	w.t.Helper()
	last, err := lastForExpirer(context.Background(), w.log)
	if err != nil {
		w.t.Fatal(err)
	}
	ticks := e.Stats().Ticks
	eventually(w.t, 10*time.Second, "expirer idle", func() bool {
		s := e.Stats()
		return s.Checkpoint >= last && s.Ticks >= ticks+n && s.InFlight == 0
	})
}

func ptr(t time.Time) *time.Time { return &t }

// lastForExpirer returns the sequence of the newest event the expirer's
// consumer delivers: its checkpoint reaches that, not the stream's last
// sequence when later events cannot change a deadline.
func lastForExpirer(ctx context.Context, log *eventlog.Log) (uint64, error) {
	return log.LastSequenceOf(ctx, events.SubjectsExpiry)
}

// scenario makes eight live links due at whole seconds 0.5-2.5 s from now
// (six created with their deadline, one created without and given one by
// an update, one whose metadata changed after it was created: the events
// of class other that the expirer is never sent must not matter), and five
// that must not expire then: one moved an hour later (later), one whose
// deadline was cleared, one expired by hand, one deleted and one without a
// deadline (spared).
func (w *world) scenario() (due map[string]time.Time, spared []string, later time.Time) {
	w.t.Helper()
	first := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second)
	soon := first.Add(time.Second)
	due = map[string]time.Time{}
	for i := range 6 {
		d := first.Add(time.Duration(i%2) * time.Second)
		due[w.create(ptr(d))] = d
	}
	moved := w.create(ptr(soon))
	cleared := w.create(ptr(soon))
	byHand := w.create(ptr(soon))
	deleted := w.create(ptr(soon))
	never := w.create(nil)
	gained, touched := w.create(nil), w.create(ptr(soon))
	due[gained], due[touched] = soon, soon
	later = soon.Add(time.Hour)
	w.run(events.ModeLive, gained, domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"k": "1"}}})
	w.run(events.ModeLive, gained, domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: soon})
	w.run(events.ModeLive, touched, domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"k": "2"}}})
	w.run(events.ModeLive, moved, domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: later})
	w.run(events.ModeLive, cleared, domain.UpdateLink{Expiry: domain.ExpiryClear})
	w.run(events.ModeLive, byHand, domain.UpdateLink{Expiry: domain.ExpiryNow})
	w.run(events.ModeLive, deleted, domain.DeleteLink{})
	return due, []string{moved, cleared, byHand, deleted, never}, later
}

// checkExpiries checks that each due link got exactly one LinkExpired from
// the expirer, for its deadline and not before it, and no spared one did.
func (w *world) checkExpiries(due map[string]time.Time, spared []string) {
	w.t.Helper()
	got := w.expiries()
	for id, deadline := range due {
		evs := got[id]
		if len(evs) != 1 {
			w.t.Fatalf("%s: %d LinkExpired, want 1", id, len(evs))
		}
		p := evs[0].Payload.(events.LinkExpired)
		if !p.Deadline.Equal(deadline) || evs[0].Audit.Actor != "expirer" || evs[0].Link.ExpiredAt == nil || evs[0].Time.Before(deadline) {
			w.t.Fatalf("%s: %+v %+v", id, p, evs[0].Envelope)
		}
	}
	for _, id := range spared {
		if len(got[id]) != 0 {
			w.t.Errorf("%s got a LinkExpired from the expirer: %+v", id, got[id])
		}
	}
}
