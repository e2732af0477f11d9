// Command projector runs the read-model projector on its own, against a
// NATS JetStream server or cluster (FILELINKS_NATS_URL): it follows the event
// stream into the bbolt read model in FILELINKS_DATA_DIR/readmodel.db, the
// same file and format the API process serves from.
//
// Uses: prebuild the read model of a new API replica before it starts (the
// API then resumes from the file's checkpoint), rebuild one from sequence 1
// after deleting it, and audit a read model: with -verify it rebuilds the
// stream into a temporary file and compares it, bucket by bucket, with the
// live one, exiting 1 on a difference. bbolt allows one process per file, so
// do not run it on the data directory of a running API.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/config"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natsconn"
	"github.com/filelinks/filelinks/internal/projector"
	"github.com/filelinks/filelinks/projections"
)

func main() { config.Main("projector", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	verify := fs.Bool("verify", false, "catch up, rebuild the stream into a temporary file, compare, and exit")
	once := fs.Bool("once", false, "catch up with the stream as it is now, then exit")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.LoadWorker(getenv, "whose event stream the projector follows")
	if err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	conn, err := natsconn.Open(natsconn.Options{URL: cfg.NATSURL, Creds: cfg.NATSCreds, Name: "filelinks-projector", Logger: logger})
	if err != nil {
		return err
	}
	defer conn.Close()
	log, err := eventlog.Open(ctx, conn.JS, eventlog.Config{Replicas: cfg.Replicas})
	if err != nil {
		return err
	}
	reads, err := projections.Open(cfg.Path("readmodel.db"), projections.Options{Logger: logger, SyncOnBootChange: true, DiscardOtherSchema: true})
	if err != nil {
		return err
	}
	defer reads.Close()
	pcfg := projector.Config{
		Log: log, Store: reads, Stopped: projections.ErrStopped, Logger: logger,
		Rebuild: func() (projector.Rebuild, error) { return reads.Rebuild() },
	}
	if *verify || *once {
		if err := projector.CatchUp(ctx, pcfg); err != nil {
			return err
		}
		if !*verify {
			fmt.Fprintf(stdout, "caught up at sequence %d\n", reads.Checkpoint())
			return nil
		}
		return verifyRebuild(ctx, log, reads, cfg.DataDir, logger, stdout)
	}
	p, err := projector.Start(ctx, pcfg)
	if err != nil {
		return err
	}
	defer p.Stop()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			logger.Info("stopping", "checkpoint", reads.Checkpoint())
			return nil
		case <-tick.C:
			last, err := log.LastSequence(ctx)
			st := reads.Stats()
			logger.Info("projector", "checkpoint", st.Checkpoint, "stream_last", last, "lag", int64(last)-int64(st.Checkpoint),
				"skipped", st.Skipped, "ready", p.Ready() == nil, "err", err)
		}
	}
}

// verifyRebuild builds the stream up to the live read model's checkpoint
// into a fresh file and compares the two digests.
func verifyRebuild(ctx context.Context, log *eventlog.Log, live *projections.Store, dir string, logger *slog.Logger, stdout io.Writer) error {
	tmp, err := os.MkdirTemp(dir, "verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fresh, err := projections.Open(filepath.Join(tmp, "rebuild.db"), projections.Options{Logger: logger, NoSync: true})
	if err != nil {
		return err
	}
	defer fresh.Close()
	target := live.Checkpoint()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- log.Follow(ctx, 1, func(recs []events.Record) error { return applyUpTo(fresh, recs, target) }, 0, nil)
	}()
	if err := fresh.WaitFor(ctx, target); err != nil {
		return err
	}
	cancel()
	<-done
	a, err := live.Digest()
	if err != nil {
		return err
	}
	b, err := fresh.Digest()
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("read model differs from a rebuild of sequences 1..%d: %s vs %s", target, a, b)
	}
	fmt.Fprintf(stdout, "read model equals a rebuild of sequences 1..%d (digest %s)\n", target, a)
	return nil
}

// applyUpTo applies the records up to and including sequence target.
func applyUpTo(s *projections.Store, recs []events.Record, target uint64) error {
	n := len(recs)
	for n > 0 && recs[n-1].Seq > target {
		n--
	}
	if n == 0 {
		return nil
	}
	return s.Apply(recs[:n])
}
