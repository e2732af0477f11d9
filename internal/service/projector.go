package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/projections"
)

// projector keeps the read model following the event log.
type projector struct {
	reads   *projections.Store
	startup uint64 // the stream's last sequence when the service started
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	stopped error // set when the read model refused an event for good
}

// startProjector follows the log from the read model's checkpoint in the
// background. A lost connection is retried; an event the read model cannot
// apply (ErrStopped) stops it, and readiness reports why.
func startProjector(ctx context.Context, log *eventlog.Log, reads *projections.Store, logger *slog.Logger) (*projector, error) {
	startup, err := log.LastSequence(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &projector{reads: reads, startup: startup, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			err := log.Follow(ctx, reads.Checkpoint()+1, reads.Apply)
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

func (p *projector) ready() error {
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

// stop ends the projector after the batch it is applying.
func (p *projector) stop() {
	p.cancel()
	<-p.done
}
