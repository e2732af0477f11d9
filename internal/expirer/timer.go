package expirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

// timer fires the schedule's deadlines: a dispatcher takes due entries from
// the schedule into a queue, Workers goroutines call Links.Expire on them,
// and a collector removes from the schedule, in batches, the entries that
// were expired or needed nothing, and sets the others aside to retry.
//
// An entry is in flight from dispatch until its removal is committed, and
// the dispatcher skips entries in flight, so a link is never expired twice
// at once by one expirer (and by two it is harmless: the domain decision
// makes the second a no-op).
type timer struct {
	sched   deadlines
	links   Links
	now     func() time.Time
	log     *slog.Logger
	st      *counters
	recheck time.Duration
	workers int

	kick    chan struct{} // cap 1: look at the schedule now
	planned atomic.Int64  // clock time (Unix ms) the dispatcher sleeps until

	queue   chan schedule.Entry
	results chan outcome

	// An entry is in inflight from dispatch until its outcome is handled,
	// then, if it failed, in retry until it is dispatched again. Both
	// carry its failed attempts.
	mu       sync.Mutex
	inflight map[linkKey]retryState
	retry    map[linkKey]retryState
}

// deadlines is where the timer finds what to fire: the expirer's schedule.
type deadlines interface {
	// Due returns up to limit entries due at now that skip does not
	// exclude.
	Due(now time.Time, limit int, skip func(schedule.Entry) bool) ([]schedule.Entry, error)
	// NextAfter returns the earliest deadline after t.
	NextAfter(t time.Time) (time.Time, bool)
	// Remove takes finished entries out, so that Due no longer returns
	// them.
	Remove(entries []schedule.Entry) (int, error)
}

type linkKey struct {
	mode events.Mode
	id   string
}

// retryState is an entry whose expiry failed. Its backoff is measured on the
// monotonic clock, not the (maybe fake or jumping) clock deadlines are read
// on: it paces attempts, it decides nothing.
type retryState struct {
	deadline  time.Time
	notBefore time.Time
	attempts  int
}

type outcome struct {
	entry    schedule.Entry
	appended bool
	err      error
	at       time.Time
}

// maxInFlight bounds the entries taken from the schedule and not yet
// removed: enough to keep every worker busy while removals wait for their
// batch.
func (t *timer) maxInFlight() int { return 32 * t.workers }

func newTimer(sched deadlines, links Links, now func() time.Time, log *slog.Logger, st *counters, cfg Config) *timer {
	t := &timer{
		sched: sched, links: links, now: now, log: log, st: st,
		recheck: cfg.Recheck, workers: cfg.Workers,
		kick:     make(chan struct{}, 1),
		inflight: map[linkKey]retryState{},
		retry:    map[linkKey]retryState{},
	}
	t.queue = make(chan schedule.Entry, t.maxInFlight())
	t.results = make(chan outcome, t.maxInFlight())
	t.planned.Store(math.MinInt64)
	return t
}

// run fires deadlines until ctx ends, then lets the workers and the
// collector finish and returns.
func (t *timer) run(ctx context.Context) {
	var workers sync.WaitGroup
	for range t.workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			t.work(ctx)
		}()
	}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		t.collect()
	}()
	t.dispatch(ctx)
	close(t.queue)
	workers.Wait()
	close(t.results)
	<-collected
}

// wake makes the dispatcher look at the schedule now if deadline is before
// the time it sleeps until: a new deadline sooner than any it knew of.
func (t *timer) wake(deadline time.Time) {
	if deadline.UnixMilli() < t.planned.Load() {
		t.poke()
	}
}

func (t *timer) poke() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

func (t *timer) dispatch(ctx context.Context) {
	sleep := time.NewTimer(0)
	defer sleep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sleep.C:
		case <-t.kick:
		}
		t.st.ticks.Add(1)
		now := t.now()
		full := t.fill(now)
		wait := t.recheck
		if !full {
			if next, ok := t.sched.NextAfter(now); ok {
				wait = min(wait, next.Sub(now))
			}
			if at, ok := t.nextRetry(); ok {
				wait = min(wait, time.Until(at))
			}
		}
		wait = max(wait, 0)
		// Planned before sleeping, so a wake that arrives meanwhile is
		// compared with the new plan and lands in the kick channel.
		t.planned.Store(now.Add(wait).UnixMilli())
		sleep.Reset(wait)
	}
}

// fill moves due entries into the queue, as many as there is room for,
// and reports whether it ran out of room (then a finished entry pokes it).
func (t *timer) fill(now time.Time) bool {
	t.mu.Lock()
	room := t.maxInFlight() - len(t.inflight)
	if room <= 0 {
		t.mu.Unlock()
		return true
	}
	due, err := t.sched.Due(now, room, t.skipLocked)
	if err != nil {
		t.mu.Unlock()
		t.log.Error("expirer cannot read its schedule", "err", err)
		return false
	}
	for _, e := range due {
		k := linkKey{e.Mode, e.LinkID}
		t.inflight[k] = t.retry[k]
		delete(t.retry, k)
	}
	if len(due) < room {
		// Every due entry that may be retried now was taken; one still
		// waiting is not due by the clock (it went back) or no longer in
		// the schedule: forget it, so it cannot keep the dispatcher awake.
		realNow := time.Now()
		for k, r := range t.retry {
			if !realNow.Before(r.notBefore) {
				delete(t.retry, k)
			}
		}
	}
	t.mu.Unlock()
	for _, e := range due {
		t.queue <- e // never blocks: the queue holds maxInFlight
	}
	return len(due) == room
}

// skipLocked reports whether e is in flight or waits for a retry.
func (t *timer) skipLocked(e schedule.Entry) bool {
	k := linkKey{e.Mode, e.LinkID}
	if _, ok := t.inflight[k]; ok {
		return true
	}
	r, ok := t.retry[k]
	if !ok {
		return false
	}
	if !r.deadline.Equal(e.Deadline) {
		delete(t.retry, k) // a new deadline: its own first attempt
		return false
	}
	return time.Now().Before(r.notBefore)
}

// nextRetry returns the earliest time an entry waiting to be retried may
// be taken again.
func (t *timer) nextRetry() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var at time.Time
	for _, r := range t.retry {
		if at.IsZero() || r.notBefore.Before(at) {
			at = r.notBefore
		}
	}
	return at, !at.IsZero()
}

func (t *timer) sizes() (inflight, retrying int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.inflight), len(t.retry)
}

// work expires entries from the queue. After ctx ends it still drains the
// queue, each call failing at once, so that every entry reaches the
// collector.
func (t *timer) work(ctx context.Context) {
	for e := range t.queue {
		appended, err := t.expire(ctx, e)
		t.results <- outcome{entry: e, appended: appended, err: err, at: t.now()}
	}
}

// expire runs the use case for one entry. A panic in it becomes an error,
// so the entry is retried with a backoff: one link whose data makes the use
// case panic must not stop, or at every start crash, the expirer.
func (t *timer) expire(ctx context.Context, e schedule.Entry) (appended bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("expirer: panic expiring %s: %v\n%s", e.LinkID, r, debug.Stack())
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return t.links.Expire(ctx, e.Mode, e.LinkID, e.Deadline, Audit)
}

// removeEvery bounds how long a finished entry waits for its removal, and
// removeBatch how many are removed in one transaction.
const (
	removeEvery = 20 * time.Millisecond
	removeBatch = 512
)

func (t *timer) collect() {
	tick := time.NewTicker(removeEvery)
	defer tick.Stop()
	var done []schedule.Entry
	for {
		select {
		case o, ok := <-t.results:
			if !ok {
				t.remove(done)
				return
			}
			if o.err != nil {
				t.failed(o)
				continue
			}
			if o.appended {
				t.st.expired.Add(1)
				t.st.lateness.record(o.at.Sub(o.entry.Deadline))
			} else {
				t.st.noops.Add(1)
			}
			if done = append(done, o.entry); len(done) >= removeBatch {
				t.remove(done)
				done = nil
			}
		case <-tick.C:
			if len(done) > 0 {
				t.remove(done)
				done = nil
			}
		}
	}
}

// remove deletes finished entries from the schedule, then lets the
// dispatcher take their links again. Should the removal fail, they are
// fired again later, which appends nothing.
func (t *timer) remove(done []schedule.Entry) {
	if len(done) == 0 {
		return
	}
	if _, err := t.sched.Remove(done); err != nil {
		t.log.Error("expirer cannot remove expired entries from its schedule", "err", err, "entries", len(done))
	}
	t.mu.Lock()
	for _, e := range done {
		k := linkKey{e.Mode, e.LinkID}
		delete(t.inflight, k)
		delete(t.retry, k)
	}
	t.mu.Unlock()
	t.poke()
}

// failed sets an entry aside to retry. A refusal because the deadline has
// not come (the clock went back between reading the schedule and deciding)
// is retried after a recheck; any other failure with an exponential
// backoff up to a minute. No entry is ever dropped.
func (t *timer) failed(o outcome) {
	k := linkKey{o.entry.Mode, o.entry.LinkID}
	t.mu.Lock()
	r := t.inflight[k]
	if !r.deadline.Equal(o.entry.Deadline) {
		r = retryState{deadline: o.entry.Deadline}
	}
	r.attempts++
	wait := t.recheck
	switch de := domain.AsError(o.err); {
	case de != nil && de.Reason == domain.ReasonNotDue:
		t.st.notDue.Add(1)
	case errors.Is(o.err, context.Canceled):
		// stopping
	default:
		t.st.failures.Add(1)
		wait = min(time.Second<<min(r.attempts-1, 6), time.Minute)
	}
	r.notBefore = time.Now().Add(wait)
	t.retry[k] = r
	delete(t.inflight, k)
	t.mu.Unlock()
	if r.attempts&(r.attempts-1) == 0 && !errors.Is(o.err, context.Canceled) { // 1st, 2nd, 4th, 8th ...
		t.log.Warn("expirer could not expire a link; it retries", "mode", o.entry.Mode, "link", o.entry.LinkID,
			"deadline", o.entry.Deadline, "attempts", r.attempts, "retry_in", wait, "err", o.err)
	}
	t.poke()
}
