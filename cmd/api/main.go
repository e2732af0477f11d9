// Command api runs the whole filelinks service in one process: the HTTP API
// (Stripe and Digital River dialects, public link URLs), the projector and
// the expirer, against an embedded NATS JetStream server by default or a
// cluster named by FILELINKS_NATS_URL. See README.md for its configuration.
//
// main.go loads the configuration and waits for a signal; allinone.go is the
// assembly: it connects to JetStream (or embeds a server), opens the event
// log, the content and idempotency stores and the read model, starts the
// projector and the expirer, and serves the HTTP API. It is one of the
// three places (with cmd/expirer and cmd/projector) that know the adapters;
// it holds no rule and no handler. Tests start it the same way, through
// StartAllInOne, or run the built program and kill it.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof"
	"runtime/debug"

	"github.com/filelinks/filelinks/internal/config"
)

func main() { config.Main("filelinks", run) }

// run starts the service and serves until ctx ends (a signal), then shuts it
// down gracefully.
func run(ctx context.Context, _ []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	if pct, ok := gcPercent(cfg, getenv); ok {
		debug.SetGCPercent(pct)
		logger.Debug("garbage collector target raised for the embedded NATS server", "GOGC", pct)
	}
	if cfg.DebugAddr != "" {
		// The profiles of net/http/pprof, registered on the default mux
		// by its import, on their own listener.
		go func() {
			logger.Warn("debug listener stopped", "addr", cfg.DebugAddr, "err", http.ListenAndServe(cfg.DebugAddr, nil))
		}()
	}
	svc, err := StartAllInOne(ctx, cfg, logger, stdout)
	if err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case runErr = <-svc.Errors():
		logger.Error("fatal", "err", runErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := svc.Shutdown(shutdownCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return runErr
}

// embeddedGOGC is the garbage collector's target (GOGC) when the process
// runs the embedded NATS server.
const embeddedGOGC = 200

// gcPercent returns the GOGC the process should run with, ok == false to
// leave the runtime's. With the embedded NATS server, most of the live heap
// is the server's long-lived, pointer-rich per-subject index (one entry per
// link, and two minutes of per-block subject state), which every collection
// marks again: at 400,000 links marking took 15 % of a create's CPU with
// GOGC 100 and 5 % with 200, for about 60 % more resident memory
// (docs/benchmarks.md). A GOGC set by the operator always wins, and
// GOMEMLIMIT still bounds the heap.
func gcPercent(cfg config.Config, getenv func(string) string) (int, bool) {
	if cfg.NATSURL != "" || getenv("GOGC") != "" {
		return 0, false
	}
	return embeddedGOGC, true
}
