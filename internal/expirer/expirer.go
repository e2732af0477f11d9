package expirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

// Expirer is a running expirer: the feed that keeps its schedule following
// the stream, and the timer that fires the schedule's deadlines.
type Expirer struct {
	cfg   Config
	log   *slog.Logger
	sched store
	feed  *feed
	timer *timer
	st    *counters

	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// store is the expirer's schedule (schedule.Schedule, in a bbolt file
// only this expirer opens): the feed commits the stream's changes to it
// with their checkpoint, and the timer fires and removes its due entries.
type store interface {
	deadlines
	Checkpoint() uint64
	Pending() int
	// Next returns the earliest deadline, false when none is pending.
	Next() (time.Time, bool)
	// Commit applies changes and moves the checkpoint to through, at once.
	Commit(changes []schedule.Change, through uint64) error
	Close() error
}

var _ store = (*schedule.Schedule)(nil)

// Start opens the schedule, creates the poison stream if missing,
// positions the durable consumer at the schedule's checkpoint, binds the
// subscriber and starts the timer, whose first look at the schedule fires
// every deadline that passed while no expirer ran. It returns once all of
// that runs; Stop ends it. ctx bounds the start only.
func Start(ctx context.Context, cfg Config, deps Deps) (_ *Expirer, err error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if deps.Conn == nil || deps.Links == nil {
		return nil, errors.New("expirer: Conn and Links are required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	log := deps.Logger.With("expirer", cfg.Name)
	js, err := jetstream.New(deps.Conn)
	if err != nil {
		return nil, fmt.Errorf("expirer: %w", err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, poisonStreamConfig(cfg)); err != nil {
		return nil, fmt.Errorf("expirer: poison stream %s: %w", cfg.PoisonStream, err)
	}
	sched, err := schedule.Open(cfg.SchedulePath, schedule.Options{Logger: log, NoSync: cfg.NoSync})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = sched.Close()
		}
	}()

	st := &counters{}
	e := &Expirer{cfg: cfg, log: log, sched: sched, st: st, stop: make(chan struct{})}
	e.timer = newTimer(sched, deps.Links, deps.Now, log, st, cfg)
	e.feed = &feed{
		cfg: cfg, log: log, sched: sched, js: js, opts: deps.Conn.Opts, st: st, wake: e.timer.wake,
		wlog:     newWMLogger(log),
		resync:   make(chan string, 1),
		flushNow: make(chan struct{}, 1),
		flushed:  make(chan struct{}),
	}
	first, err := e.feed.open(ctx)
	if err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.feed.commitLoop(e.stop)
	}()
	go func() {
		defer e.wg.Done()
		e.supervise(runCtx, first)
	}()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.timer.run(runCtx)
	}()
	if cfg.SummaryInterval > 0 {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.summarize(cfg.SummaryInterval, e.stop)
		}()
	}
	log.Info("expirer started", "pending", sched.Pending(), "checkpoint", sched.Checkpoint(), "schedule", cfg.SchedulePath)
	return e, nil
}

// supervise runs sessions of the feed: when one must be replaced (a gap in
// the deliveries, a deleted consumer, a lost server) it closes it and opens
// another at the checkpoint, retrying with a backoff while that fails.
func (e *Expirer) supervise(ctx context.Context, s *session) {
	// Missed heartbeats tell of a lost consumer too, but only after about
	// four of them; asking the server is quicker.
	check := time.NewTicker(checkEvery)
	defer check.Stop()
	failures := 0
	for {
		if s != nil {
			select {
			case <-ctx.Done():
				e.feed.close(s)
				return
			case why := <-e.feed.resync:
				e.log.Warn("expirer resubscribes at its checkpoint", "reason", why, "checkpoint", e.sched.Checkpoint())
			case <-s.done:
				e.log.Warn("expirer subscription ended; resubscribing")
			case <-check.C:
				err := e.feed.check(ctx)
				if err == nil {
					continue
				}
				e.log.Warn("expirer resubscribes at its checkpoint", "reason", err, "checkpoint", e.sched.Checkpoint())
			}
			e.st.resyncs.Add(1)
			e.feed.close(s)
			s = nil
		}
		var err error
		if s, err = e.feed.open(ctx); err != nil {
			failures++
			wait := min(time.Duration(failures)*500*time.Millisecond, 30*time.Second)
			e.log.Error("expirer cannot subscribe; retrying", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
	}
}

// checkEvery is how often the running expirer asks the server whether its
// consumer is still there and bound.
const checkEvery = 5 * time.Second

// Stop stops firing deadlines (calls in flight end), closes the
// subscription, commits what it took and closes the schedule. Calling it
// again does nothing.
func (e *Expirer) Stop() {
	e.once.Do(func() {
		e.cancel()
		close(e.stop)
		e.wg.Wait()
		// The commit loop is gone: the last batch, if the session's close
		// could not commit it, is committed here or read again next time.
		if err := e.feed.flush(); err != nil {
			e.log.Error("expirer could not commit its last schedule changes; the next start reads them again", "err", err)
		}
		if err := e.sched.Close(); err != nil {
			e.log.Error("closing the expirer schedule", "err", err)
		}
		e.log.Info("expirer stopped", "pending", e.sched.Pending(), "checkpoint", e.sched.Checkpoint())
	})
}
