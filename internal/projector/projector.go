package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/filelinks/filelinks/events"
)

// Log is the event stream the projector follows (eventlog.Log).
type Log interface {
	// LastSequence returns the stream's last sequence, 0 when it is empty.
	LastSequence(ctx context.Context) (uint64, error)
	// Follow calls apply with batches of consecutive records from sequence
	// from on, and returns when ctx ends (nil) or apply fails (its error).
	// With linger above zero it may hold a batch open that long for more
	// records, unless a value is received from hurry (*eventlog.Log.Follow).
	Follow(ctx context.Context, from uint64, apply func([]events.Record) error, linger time.Duration, hurry <-chan struct{}) error
}

// Store is the read model the projector writes (projections.Store).
type Store interface {
	// Checkpoint is the sequence of the last record applied, 0 for none.
	Checkpoint() uint64
	// Apply commits a batch of records and the new checkpoint together.
	Apply(recs []events.Record) error
	// Hurry receives a value when a reader waits for a record not applied
	// yet, so that a lingering batch is applied at once.
	Hurry() <-chan struct{}
	// WaitFor returns once the record at sequence seq is applied.
	WaitFor(ctx context.Context, seq uint64) error
}

// Rebuild is a bulk build of an empty read model (projections.Rebuild):
// the stream from sequence 1 goes in with Apply, and Finish puts what it
// took in place of the empty read model, or Abort drops it.
type Rebuild interface {
	Apply(recs []events.Record) error
	Checkpoint() uint64
	Finish() error
	Abort() error
}

// Config is what a projector follows, what it writes, and how it tells a
// read model's refusal from a failure worth retrying.
type Config struct {
	Log   Log
	Store Store
	// Stopped is the error, matched with errors.Is, with which the read
	// model refuses for good an event this binary cannot read
	// (projections.ErrStopped). The projector stops on it and Ready
	// reports it; on any other error it resumes a second later.
	Stopped error
	// Rebuild starts building an empty read model in bulk
	// (projections.Store.Rebuild); its result is used only when err is nil.
	// Nil: an empty read model is applied like any other.
	Rebuild func() (Rebuild, error)
	Logger  *slog.Logger
}

// Linger is how long the projector holds a batch open for more events when
// nobody waits for it (Log.Follow; a read that waits for this process's
// write ends it at once, through Store.Hurry). Under a stream of creates it
// makes the batches tens of times larger, which halves the projector's CPU
// per event (docs/benchmarks.md); a write made elsewhere reaches this read
// model at most this much later.
const Linger = 20 * time.Millisecond

// retryAfter is the pause before following again after a lost connection.
const retryAfter = time.Second

// Projector is a running projector.
type Projector struct {
	cfg     Config
	startup uint64 // the stream's last sequence when the projector started
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	stopped error // set when the read model refused an event for good
}

// Start follows the log from the read model's checkpoint in the
// background, after rebuilding an empty read model behind a long stream.
// A lost connection is retried; an event the read model cannot apply
// (Config.Stopped) stops it, and Ready reports why.
func Start(ctx context.Context, cfg Config) (*Projector, error) {
	startup, err := cfg.Log.LastSequence(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &Projector{cfg: cfg, startup: startup, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.run(ctx)
	}()
	return p, nil
}

func (p *Projector) run(ctx context.Context) {
	reads, logger := p.cfg.Store, p.cfg.Logger
	if p.cfg.Rebuild != nil && reads.Checkpoint() == 0 && p.startup >= rebuildFrom {
		p.rebuild(ctx)
	}
	for ctx.Err() == nil {
		err := p.cfg.Log.Follow(ctx, reads.Checkpoint()+1, reads.Apply, Linger, reads.Hurry())
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, p.cfg.Stopped):
			logger.Error("projector stopped", "checkpoint", reads.Checkpoint(), "err", err)
			p.mu.Lock()
			p.stopped = err
			p.mu.Unlock()
			return
		case err != nil:
			logger.Warn("projector interrupted; resuming", "checkpoint", reads.Checkpoint(), "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(retryAfter):
			}
		}
	}
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
	if ck := p.cfg.Store.Checkpoint(); ck < p.startup {
		return fmt.Errorf("read model catching up: at %d of %d", ck, p.startup)
	}
	return nil
}

// Stop ends the projector after the batch it is applying.
func (p *Projector) Stop() {
	p.cancel()
	<-p.done
}

// CatchUp applies the stream up to its last sequence as of now, and
// returns once the read model holds it. If the read model refuses an event
// before that, it waits until ctx ends.
func CatchUp(ctx context.Context, cfg Config) error {
	target, err := cfg.Log.LastSequence(ctx)
	if err != nil {
		return err
	}
	if cfg.Store.Checkpoint() >= target {
		return nil
	}
	start := time.Now()
	p, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer p.Stop()
	if err := cfg.Store.WaitFor(ctx, target); err != nil {
		return err
	}
	cfg.Logger.Info("caught up", "sequence", target, "took", time.Since(start))
	return p.Ready()
}
