// Command expirer runs the expirer on its own, against the NATS server or
// cluster named by FILELINKS_NATS_URL: it appends LinkExpired to the event
// stream when links' deadlines come. The all-in-one cmd/api runs the same
// expirer in-process; run this one to scale or place it apart.
//
// Its schedule is FILELINKS_DATA_DIR/expirer.db. Several expirers may run at
// once, each with its own FILELINKS_EXPIRER_NAME and data directory; the
// domain decision and the optimistic append make sure a link gets one
// LinkExpired whatever their number.
package main

import (
	"context"
	"io"
	"time"

	"github.com/filelinks/filelinks/internal/app"
	"github.com/filelinks/filelinks/internal/config"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/natsconn"
	"github.com/filelinks/filelinks/internal/randid"
)

func main() { config.Main("filelinks-expirer", run) }

// run starts the expirer and runs it until ctx ends.
func run(ctx context.Context, _ []string, getenv func(string) string, _, stderr io.Writer) error {
	cfg, err := config.LoadWorker(getenv, "whose event stream the expirer works on")
	if err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	conn, err := natsconn.Open(natsconn.Options{URL: cfg.NATSURL, Creds: cfg.NATSCreds, Name: "filelinks-expirer", Logger: logger})
	if err != nil {
		return err
	}
	defer conn.Close()
	log, err := eventlog.Open(ctx, conn.JS, eventlog.Config{Replicas: cfg.Replicas})
	if err != nil {
		return err
	}
	// Expire needs only the log, the clock and ids: it appends without
	// reading the read model or looking up files.
	links := &app.Links{Log: log, Now: time.Now, NewID: randid.New, NewToken: randid.Token, Logger: logger}
	exp, err := expirer.Start(ctx, expirer.Config{
		SchedulePath: cfg.Path("expirer.db"), Name: cfg.ExpirerName, Replicas: cfg.Replicas,
	}, expirer.Deps{Conn: conn.NC, Links: links, Logger: logger})
	if err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	exp.Stop()
	return nil
}
