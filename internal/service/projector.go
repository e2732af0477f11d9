package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/projector"
	"github.com/filelinks/filelinks/projections"
)

// startProjector runs the in-process projector of the read model.
func startProjector(ctx context.Context, log *eventlog.Log, reads *projections.Store, logger *slog.Logger) (*projector.Projector, error) {
	return projector.Start(ctx, projector.Config{
		Log: followLog{log}, Store: readModel{reads}, Stopped: projections.ErrStopped, Logger: logger,
	})
}

// followLog is the event log as projector.Log.
type followLog struct{ *eventlog.Log }

func (l followLog) Follow(ctx context.Context, from uint64, apply func([]events.Record) error, linger time.Duration, hurry <-chan struct{}) error {
	return l.Log.Follow(ctx, from, apply, eventlog.Linger(linger, hurry))
}

// readModel is the read model as projector.Store.
type readModel struct{ *projections.Store }

func (s readModel) Rebuild() (projector.Rebuild, error) {
	rb, err := s.Store.Rebuild()
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return rb, nil
}
