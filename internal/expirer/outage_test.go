package expirer_test

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/natsembed"
)

// TestExpirer_ServerOutage stops the NATS server under a running expirer
// and starts it again on the same address and store: the client
// reconnects, and links that came due during the outage, and links made
// after it, are expired.
func TestExpirer_ServerOutage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	store := t.TempDir()
	startServer := func() *natsembed.Server {
		t.Helper()
		srv, err := natsembed.Start(natsembed.Config{StoreDir: store, Listen: addr, MaxStore: 1 << 30, MaxMemory: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := startServer()
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		nc.Close()
		srv.Shutdown()
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	log, err := eventlog.Open(context.Background(), js, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, log: log, clock: &clock{}, dir: t.TempDir()}
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	w.clock.set(t0)
	e, err := expirer.Start(context.Background(), expirer.Config{
		SchedulePath: filepath.Join(w.dir, "expirer.db"), Recheck: 50 * time.Millisecond, SummaryInterval: -1,
	}, expirer.Deps{Conn: nc, Links: w.links(), Now: w.clock.now, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	before := w.create(ptr(t0.Add(10 * time.Second)))
	w.quiesce(e, 1)

	srv.Shutdown()
	w.clock.set(t0.Add(20 * time.Second)) // due while the server is down
	srv = startServer()

	eventually(t, 30*time.Second, "due link expired after the outage", func() bool { return e.Stats().Expired == 1 })
	after := w.create(ptr(t0.Add(30 * time.Second)))
	w.clock.set(t0.Add(40 * time.Second))
	eventually(t, 30*time.Second, "link made after the outage expired", func() bool { return e.Stats().Expired == 2 })
	w.quiesce(e, 2)
	got := w.expiries()
	if len(got[before]) != 1 || len(got[after]) != 1 || len(got) != 2 {
		t.Fatalf("expiries %v", got)
	}
	t.Logf("stats after the outage: %+v", e.Stats())
}
