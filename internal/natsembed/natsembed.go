// Package natsembed runs a NATS server with JetStream inside the process, for
// the all-in-one default and for tests. It is the only package that imports
// nats-server. It never creates streams: that is the event log's job.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server stores and listens.
type Config struct {
	// StoreDir is the JetStream store directory. Required.
	StoreDir string
	// Listen is host:port for clients; port -1 picks a free port. Default
	// "127.0.0.1:4222".
	Listen string
	// MaxStore and MaxMemory cap JetStream's file and memory use in bytes.
	// Default: 0, which lets the server take a share of the machine.
	MaxStore, MaxMemory int64
	// SyncAlways makes the store fsync every write instead of every two
	// minutes. A process crash (even kill -9) loses nothing either way; only
	// a machine crash can lose the last writes without it.
	SyncAlways bool
	// ReadyTimeout bounds the wait for the server to accept clients. Default 10s.
	ReadyTimeout time.Duration
	// Logger receives the server's errors and warnings. Default: none.
	Logger *slog.Logger
}

// Server is a running embedded server.
type Server struct{ ns *server.Server }

// Start starts a server and waits until it accepts clients.
func Start(cfg Config) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:4222"
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("natsembed: listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("natsembed: listen port %q: %w", portStr, err)
	}
	opts := &server.Options{
		ServerName:         "filelinks-embedded",
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxStore:  cfg.MaxStore,
		JetStreamMaxMemory: cfg.MaxMemory,
		SyncAlways:         cfg.SyncAlways,
		NoSigs:             true,
		NoLog:              cfg.Logger == nil,
		MaxPayload:         8 << 20,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	if cfg.Logger != nil {
		ns.SetLoggerV2(slogAdapter{cfg.Logger}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(cfg.ReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("natsembed: server not ready after %s (is %s in use?)", cfg.ReadyTimeout, cfg.Listen)
	}
	return &Server{ns: ns}, nil
}

// InProcessConn gives a client of this process a connection that does not
// go through the network stack (nats.InProcessServer).
func (s *Server) InProcessConn() (net.Conn, error) { return s.ns.InProcessConn() }

// ClientURL is the URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Shutdown stops the server after flushing its store, and waits for it.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// slogAdapter passes the server's warnings and errors to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  {}
