package projector

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"github.com/filelinks/filelinks/events"
)

// rebuildFrom is the length of stream from which an empty read model is
// rebuilt (Config.Rebuild) rather than applied batch by batch.
const rebuildFrom = 10_000

// rebuild builds an empty read model from the stream up to its last
// sequence at start with Config.Rebuild, several times faster than Apply,
// and puts it in place. Events that arrive meanwhile and whatever the
// rebuild did not take are then applied as usual, as is the whole stream
// when the rebuild fails: the read model stays empty then.
func (p *Projector) rebuild(ctx context.Context) {
	logger := p.cfg.Logger
	start := time.Now()
	defer relaxGC()()
	rb, err := p.cfg.Rebuild()
	if err != nil {
		logger.Warn("projector: cannot rebuild; applying the stream", "err", err)
		return
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = p.cfg.Log.Follow(fctx, 1, func(recs []events.Record) error {
		if err := rb.Apply(recs); err != nil {
			return err
		}
		if rb.Checkpoint() >= p.startup {
			cancel()
		}
		return nil
	}, 0, nil)
	switch {
	case ctx.Err() != nil: // stopping: Stop returns after one batch, not a whole Finish
		_ = rb.Abort()
		return
	case err != nil && !errors.Is(err, p.cfg.Stopped):
		// What was taken is complete up to rb.Checkpoint(); keep it.
		logger.Warn("projector: rebuild interrupted; keeping what it read", "checkpoint", rb.Checkpoint(), "err", err)
	}
	// On Stopped, Finish keeps the events before the one this binary
	// cannot read, and the Apply that follows stops at that one again.
	if err := rb.Finish(); err != nil {
		logger.Warn("projector: rebuild failed; applying the stream", "err", err)
		return
	}
	logger.Info("projector: rebuilt the read model", "checkpoint", p.cfg.Store.Checkpoint(), "took", time.Since(start).Round(time.Millisecond))
}

// rebuildGCPercent is the garbage collector's GOGC while a rebuild runs.
// A rebuild allocates fast (a decoded envelope per event, the NATS
// client's messages) and keeps little, so at the default of 100 the
// collector runs every few milliseconds and takes about a sixth of the
// CPU; at 300 the projector replays a million events about 15 % faster
// (docs/benchmarks.md). The heap may grow to four times what is live
// for the minutes of the rebuild, a GOMEMLIMIT still caps it, and a
// GOGC the operator set higher is kept.
const rebuildGCPercent = 300

// relaxGC raises the GC percent to rebuildGCPercent, unless it is already
// higher or off, and returns the function that restores it.
func relaxGC() (restore func()) {
	old := debug.SetGCPercent(rebuildGCPercent)
	if old < 0 || old > rebuildGCPercent {
		debug.SetGCPercent(old)
		return func() {}
	}
	return func() { debug.SetGCPercent(old) }
}
