package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/projections"
)

// Projector keeps a read model following the event log. The all-in-one
// service runs one in-process; cmd/projector runs one on its own.
type Projector struct {
	reads   *projections.Store
	startup uint64 // the stream's last sequence when the service started
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	stopped error // set when the read model refused an event for good
}

// StartProjector follows the log from the read model's checkpoint in the
// background. A lost connection is retried; an event the read model cannot
// apply (ErrStopped) stops it, and readiness reports why.
func StartProjector(ctx context.Context, log *eventlog.Log, reads *projections.Store, logger *slog.Logger) (*Projector, error) {
	startup, err := log.LastSequence(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &Projector{reads: reads, startup: startup, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if reads.Checkpoint() == 0 && startup >= rebuildFrom {
			p.rebuild(ctx, log, logger)
		}
		for ctx.Err() == nil {
			err := log.Follow(ctx, reads.Checkpoint()+1, reads.Apply, eventlog.Linger(ProjectorLinger, reads.Hurry()))
			switch {
			case ctx.Err() != nil:
				return
			case errors.Is(err, projections.ErrStopped):
				logger.Error("projector stopped", "checkpoint", reads.Checkpoint(), "err", err)
				p.mu.Lock()
				p.stopped = err
				p.mu.Unlock()
				return
			case err != nil:
				logger.Warn("projector interrupted; resuming", "checkpoint", reads.Checkpoint(), "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	return p, nil
}

// ProjectorLinger is how long the projector holds a batch open for more
// events when nobody waits for it (eventlog.Linger; a read that waits for
// this process's write ends it at once, through Store.Hurry). Under a
// stream of creates it makes the batches tens of times larger, which
// halves the projector's CPU per event (docs/benchmarks.md); a write made
// elsewhere reaches this read model at most this much later.
const ProjectorLinger = 20 * time.Millisecond

// rebuildFrom is the length of stream from which an empty read model is
// rebuilt (projections.Rebuild) rather than applied batch by batch.
const rebuildFrom = 10_000

// rebuild builds an empty read model from the stream up to its last
// sequence at start with projections.Rebuild, several times faster than
// Apply, and puts it in place. Events that arrive meanwhile and whatever
// the rebuild did not take are then applied as usual, as is the whole
// stream when the rebuild fails: the read model stays empty then.
func (p *Projector) rebuild(ctx context.Context, log *eventlog.Log, logger *slog.Logger) {
	start := time.Now()
	defer relaxGC()()
	rb, err := p.reads.Rebuild()
	if err != nil {
		logger.Warn("projector: cannot rebuild; applying the stream", "err", err)
		return
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = log.Follow(fctx, 1, func(recs []events.Record) error {
		if err := rb.Apply(recs); err != nil {
			return err
		}
		if rb.Checkpoint() >= p.startup {
			cancel()
		}
		return nil
	})
	switch {
	case ctx.Err() != nil: // stopping: Stop returns after one batch, not a whole Finish
		_ = rb.Abort()
		return
	case err != nil && !errors.Is(err, projections.ErrStopped):
		// What was taken is complete up to rb.Checkpoint(); keep it.
		logger.Warn("projector: rebuild interrupted; keeping what it read", "checkpoint", rb.Checkpoint(), "err", err)
	}
	// On ErrStopped, Finish keeps the events before the one this binary
	// cannot read, and the Apply that follows stops at that one again.
	if err := rb.Finish(); err != nil {
		logger.Warn("projector: rebuild failed; applying the stream", "err", err)
		return
	}
	logger.Info("projector: rebuilt the read model", "checkpoint", p.reads.Checkpoint(), "took", time.Since(start).Round(time.Millisecond))
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

// Ready reports whether the read model has caught up with the stream as
// it was at start, and the projector has not stopped.
func (p *Projector) Ready() error {
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped != nil {
		return fmt.Errorf("projector stopped: %w", stopped)
	}
	if ck := p.reads.Checkpoint(); ck < p.startup {
		return fmt.Errorf("read model catching up: at %d of %d", ck, p.startup)
	}
	return nil
}

// Stop ends the projector after the batch it is applying.
func (p *Projector) Stop() {
	p.cancel()
	<-p.done
}
