package main

import (
	"context"
	"log/slog"

	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/projector"
	"github.com/filelinks/filelinks/projections"
)

// startProjector runs the in-process projector of the read model.
func startProjector(ctx context.Context, log *eventlog.Log, reads *projections.Store, logger *slog.Logger) (*projector.Projector, error) {
	return projector.Start(ctx, projector.Config{
		Log: log, Store: reads, Stopped: projections.ErrStopped, Logger: logger,
		Rebuild: func() (projector.Rebuild, error) { return reads.Rebuild() },
	})
}
