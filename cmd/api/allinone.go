package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/filelinks/filelinks/internal/app"
	"github.com/filelinks/filelinks/internal/config"
	"github.com/filelinks/filelinks/internal/diskcache"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/filestore"
	"github.com/filelinks/filelinks/internal/httpapi"
	"github.com/filelinks/filelinks/internal/idemstore"
	"github.com/filelinks/filelinks/internal/natsconn"
	"github.com/filelinks/filelinks/internal/projector"
	"github.com/filelinks/filelinks/internal/randid"
	"github.com/filelinks/filelinks/projections"
)

// idemMaxBody is the largest response kept for idempotent replay; a file
// list with expanded links is the largest response a POST returns.
const idemMaxBody = 256 << 10

// AllInOne is the running all-in-one process: the API, the projector and
// the expirer over one NATS connection.
type AllInOne struct {
	cfg    config.Config
	logger *slog.Logger

	conn    *natsconn.Conn
	log     *eventlog.Log
	reads   *projections.Store
	proj    *projector.Projector
	exp     *expirer.Expirer
	cache   *diskcache.Cache
	httpSrv *http.Server
	ln      net.Listener
	errs    chan error
	stop    sync.Once
}

// Option changes how StartAllInOne builds the service.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes the service read time from now instead of the system
// clock (for tests of expiry at an exact instant).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// StartAllInOne brings every part up, in dependency order, and starts serving. On
// error it stops what it had started.
func StartAllInOne(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer, opts ...Option) (_ *AllInOne, err error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	s := &AllInOne{cfg: cfg, logger: logger, errs: make(chan error, 2)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(cfg.Path("nats"), 0o700); err != nil {
		return nil, fmt.Errorf("service: data directory: %w", err)
	}
	keys, generated, err := ensureKeys(cfg.APIKeys, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if generated {
		fmt.Fprintf(stdout, "No FILELINKS_API_KEYS set: generated a test key, kept in %s:\n\n    %s\n\n", cfg.Path(keyFile), keys[0])
	}
	apiKeys, err := httpapi.NewKeys(keys)
	if err != nil {
		return nil, err
	}

	s.conn, err = natsconn.Open(natsconn.Options{
		URL: cfg.NATSURL, Creds: cfg.NATSCreds, StoreDir: cfg.Path("nats"), Listen: cfg.NATSListen,
		SyncAlways: cfg.SyncAlways, Name: "filelinks-api", Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	s.log, err = eventlog.Open(ctx, s.conn.JS, eventlog.Config{Replicas: cfg.Replicas})
	if err != nil {
		return nil, err
	}
	content, err := filestore.Open(ctx, s.conn.JS, filestore.Config{Replicas: cfg.Replicas})
	if err != nil {
		return nil, err
	}
	var cache httpapi.FileCache
	if cfg.CacheBytes > 0 {
		s.cache, err = diskcache.Open(cfg.Path("cache"), cfg.CacheBytes, logger)
		if err != nil {
			return nil, err
		}
		cache = s.cache
	}
	idem, err := idemstore.Open(ctx, s.conn.JS, idemstore.Config{Replicas: cfg.Replicas, MaxBody: idemMaxBody})
	if err != nil {
		return nil, err
	}
	s.reads, err = projections.Open(cfg.Path("readmodel.db"), projections.Options{Logger: logger, SyncOnBootChange: true, DiscardOtherSchema: true})
	if err != nil {
		return nil, err
	}
	s.proj, err = startProjector(ctx, s.log, s.reads, logger)
	if err != nil {
		return nil, err
	}

	links := &app.Links{
		Log: s.log, Reads: s.reads,
		NewID: randid.New, NewToken: randid.Token, DerivedID: randid.Derived, Now: o.now,
		Logger: logger,
	}
	files := &app.Files{Content: contentStore{content}, Log: s.log, Reads: s.reads, Links: links, MaxBytes: cfg.MaxUploadBytes}
	links.Files = files
	if cfg.Expirer == config.ExpirerWorker {
		s.exp, err = expirer.Start(ctx, expirer.Config{
			SchedulePath: cfg.Path("expirer.db"), Name: cfg.ExpirerName, Replicas: cfg.Replicas,
		}, expirer.Deps{Conn: s.conn.NC, Links: links, Now: o.now, Logger: logger})
		if err != nil {
			return nil, err
		}
	}

	handler := httpapi.New(httpapi.Deps{
		Links: links, Files: files, Keys: apiKeys, Idem: idempotency{store: idem, maxBody: idemMaxBody},
		PublicURL: cfg.PublicURL, MaxUploadBytes: cfg.MaxUploadBytes, Content: content, Cache: cache,
		LinkRate: cfg.LinkRate, LinkBurst: cfg.LinkBurst, TrustedProxies: cfg.TrustedProxies,
		Ready: s.ready, Logger: logger, Now: o.now,
	})
	s.ln, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("service: listen %s: %w", cfg.HTTPAddr, err)
	}
	s.httpSrv = &http.Server{
		Handler:           handler,
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.httpSrv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("service: http: %w", err)
		}
	}()
	logger.Info("filelinks serving", "http", s.Addr(), "public_url", cfg.PublicURL, "data_dir", cfg.DataDir,
		"nats", natsTarget(cfg))
	return s, nil
}

// Addr is the address the HTTP server listens on.
func (s *AllInOne) Addr() string { return s.ln.Addr().String() }

// Errors delivers fatal errors of the running service.
func (s *AllInOne) Errors() <-chan error { return s.errs }

// Shutdown stops accepting requests and lets those in flight finish (until
// ctx ends), stops the expirer, stops the projector after the batch it is
// applying, closes the read model, and drains and closes the NATS
// connection (and stops the embedded server). Nothing acknowledged to a client is lost: every write
// was stored in JetStream before it was answered.
func (s *AllInOne) Shutdown(ctx context.Context) error {
	var err error
	if s.httpSrv != nil {
		err = s.httpSrv.Shutdown(ctx)
	}
	s.close()
	return err
}

func (s *AllInOne) close() {
	s.stop.Do(func() {
		if s.exp != nil {
			s.exp.Stop()
		}
		if s.proj != nil {
			s.proj.Stop()
		}
		if s.reads != nil {
			if err := s.reads.Close(); err != nil {
				s.logger.Error("closing read model", "err", err)
			}
		}
		if s.cache != nil {
			s.cache.Close()
		}
		if s.conn != nil {
			s.conn.Close()
		}
	})
}

// ready reports whether the service can serve: connected, the event stream
// is there, and the read model has caught up with the stream as it was at
// startup.
func (s *AllInOne) ready(ctx context.Context) error {
	if !s.conn.Connected() {
		return errors.New("not connected to NATS")
	}
	if _, err := s.log.LastSequence(ctx); err != nil {
		return fmt.Errorf("event stream unavailable: %w", err)
	}
	return s.proj.Ready()
}

func natsTarget(cfg config.Config) string {
	if cfg.Embedded() {
		return "embedded, clients at nats://" + cfg.NATSListen
	}
	return cfg.NATSURL
}

// contentStore adapts filestore.Store to app.ContentStore.
type contentStore struct{ *filestore.Store }

func (c contentStore) Put(ctx context.Context, name string, r io.Reader, maxBytes int64) (app.Content, error) {
	got, err := c.Store.Put(ctx, name, r, maxBytes)
	if errors.Is(err, filestore.ErrTooLarge) {
		return app.Content{}, app.ErrTooLarge
	}
	return app.Content{Size: got.Size, SHA256: got.SHA256, ContentType: got.ContentType}, err
}
