// Package natstest starts a real embedded NATS JetStream server for tests: a
// random port on loopback and a store in the test's temp directory. Tests use
// it instead of mocks.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/natsembed"
)

// Server is a running test server and a connection to it.
type Server struct {
	*natsembed.Server
	Conn *nats.Conn
	JS   jetstream.JetStream
	Dir  string
}

// Start starts a server that is shut down when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartIn(tb, tb.TempDir())
}

// StartIn starts a server storing in dir, so a test can restart it on the
// same store.
func StartIn(tb testing.TB, dir string) *Server {
	tb.Helper()
	srv, err := natsembed.Start(natsembed.Config{StoreDir: dir, Listen: "127.0.0.1:-1", MaxStore: 8 << 30, MaxMemory: 256 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.Timeout(5*time.Second))
	if err != nil {
		srv.Shutdown()
		tb.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		tb.Fatal(err)
	}
	s := &Server{Server: srv, Conn: nc, JS: js, Dir: dir}
	tb.Cleanup(s.Stop)
	return s
}

// Stop closes the connection and shuts the server down; calling it twice is
// harmless.
func (s *Server) Stop() {
	if s.Conn.IsClosed() {
		return
	}
	s.Conn.Close()
	s.Server.Shutdown()
}
