// Package natsconn gives a process its JetStream connection: to the cluster
// named by FILELINKS_NATS_URL, or to a server it embeds when none is named.
// It owns the connection's lifetime and nothing else.
package natsconn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/natsembed"
)

// Options says where to connect.
type Options struct {
	// URL of the NATS server or cluster (comma-separated seeds); empty starts
	// an embedded server storing in StoreDir and listening on Listen.
	URL        string
	Creds      string
	StoreDir   string
	Listen     string
	SyncAlways bool
	// Name identifies the client to the server (shown in monitoring).
	Name   string
	Logger *slog.Logger
}

// Conn is an open JetStream connection, and the embedded server when there
// is one.
type Conn struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	embedded *natsembed.Server
	logger   *slog.Logger
}

// Open connects, starting the embedded server first when opts.URL is empty.
func Open(opts Options) (*Conn, error) {
	c := &Conn{logger: opts.Logger}
	url := opts.URL
	if url == "" {
		srv, err := natsembed.Start(natsembed.Config{StoreDir: opts.StoreDir, Listen: opts.Listen, SyncAlways: opts.SyncAlways, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		c.embedded = srv
		url = srv.ClientURL()
		opts.Logger.Info("embedded NATS JetStream server started", "url", url, "store", opts.StoreDir)
	}
	natsOpts := []nats.Option{
		nats.Name(opts.Name),
		nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				opts.Logger.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { opts.Logger.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	if opts.Creds != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(opts.Creds))
	}
	if c.embedded != nil {
		// The embedded server is in this process: talk to it without
		// loopback TCP (less CPU per message and per byte). Other clients
		// still reach it at its listen address.
		natsOpts = append(natsOpts, nats.InProcessServer(c.embedded))
	}
	nc, err := nats.Connect(url, natsOpts...)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("natsconn: connect %s: %w", url, err)
	}
	c.NC = nc
	js, err := jetstream.New(nc)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("natsconn: %w", err)
	}
	c.JS = js
	return c, nil
}

// Connected reports whether the connection is up.
func (c *Conn) Connected() bool { return c.NC != nil && c.NC.IsConnected() }

// Close drains the connection (pending publishes and acks are flushed) and
// then stops the embedded server, if any.
func (c *Conn) Close() {
	if c.NC != nil && !c.NC.IsClosed() {
		done := make(chan struct{})
		c.NC.SetClosedHandler(func(*nats.Conn) { close(done) })
		if err := c.NC.Drain(); err != nil {
			c.NC.Close()
		} else {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				c.NC.Close()
			}
		}
	}
	if c.embedded != nil {
		c.embedded.Shutdown()
		c.embedded = nil
	}
}

// Ping checks the server answers JetStream requests.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.JS.AccountInfo(ctx)
	return err
}
