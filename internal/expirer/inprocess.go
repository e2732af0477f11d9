package expirer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/filelinks/filelinks/projections"
)

// ReadModel is the read model of a projector that runs in the expirer's
// process (projections.Store): its by_deadline index holds every link an
// expirer must fire, so an expirer beside it needs no schedule or consumer
// of its own.
type ReadModel interface {
	Due(now time.Time, limit int, skip func(projections.ScheduleEntry) bool) ([]projections.ScheduleEntry, error)
	NextAfter(t time.Time) (time.Time, bool)
	Checkpoint() uint64
	// OnDeadline registers a function called with each new deadline.
	OnDeadline(fn func(time.Time))
}

// SettlingLinks is Links whose Settle waits, bounded, until the read model
// shows the link events Expire appended or read (app.Links.Settle).
type SettlingLinks interface {
	Links
	Settle(ctx context.Context)
}

// InProcessDeps are what StartInProcess runs on.
type InProcessDeps struct {
	Reads ReadModel
	Links SettlingLinks
	// Now is the clock; the same one Links decides with. Default time.Now.
	Now func() time.Time
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// StartInProcess starts an expirer on the read model of the projector in
// this process: the timer fires the deadlines of its by_deadline index,
// and the read model tells it of new ones as it applies them. There is no
// consumer, schedule file or poison stream: the projector already reads
// every event, and an event it cannot read stops it, with a clear error,
// and with it the new deadlines this expirer learns of. Of cfg, only Name,
// Workers, Recheck and SummaryInterval apply. It is the opt-in
// FILELINKS_EXPIRER=readmodel of the all-in-one service; Start is the
// default there.
//
// A fired link leaves by_deadline when the projector applies its
// LinkExpired, so the timer removes an entry by waiting until the read
// model shows what Expire appended or read (Links.Settle); a deadline
// fired again meanwhile appends nothing.
func StartInProcess(cfg Config, deps InProcessDeps) (*Expirer, error) {
	if deps.Reads == nil || deps.Links == nil {
		return nil, errors.New("expirer: Reads and Links are required")
	}
	if err := cfg.setTimerDefaults(); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	log := deps.Logger.With("expirer", cfg.Name)
	st := &counters{}
	e := &Expirer{cfg: cfg, log: log, reads: deps.Reads, st: st, stop: make(chan struct{})}
	e.timer = newTimer(readModelDeadlines{deps.Reads, deps.Links}, deps.Links, deps.Now, log, st, cfg)
	deps.Reads.OnDeadline(e.timer.wake)

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = func() {
		deps.Reads.OnDeadline(nil)
		cancel()
	}
	e.startTimer(ctx)
	log.Info("expirer started on the read model", "checkpoint", deps.Reads.Checkpoint())
	return e, nil
}

// readModelDeadlines are the deadlines of a ReadModel, for the timer.
type readModelDeadlines struct {
	ReadModel
	links SettlingLinks
}

// settleWait bounds Remove's wait for the read model.
const settleWait = 10 * time.Second

// Remove waits until the read model shows what Expire appended or read for
// the entries, which takes them out of by_deadline (or moves them, for a
// link whose deadline changed).
func (d readModelDeadlines) Remove(entries []projections.ScheduleEntry) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), settleWait)
	defer cancel()
	d.links.Settle(ctx)
	return len(entries), nil
}
