package projector

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
	"github.com/filelinks/filelinks/projections"
)

func config(log *eventlog.Log, reads *projections.Store, logger *slog.Logger) Config {
	return Config{Log: log, Store: reads, Stopped: projections.ErrStopped, Rebuild: func() (Rebuild, error) { return reads.Rebuild() }, Logger: logger}
}

// fixture is a real event log on an embedded server and an empty read
// model in a temporary directory.
type fixture struct {
	srv   *natstest.Server
	log   *eventlog.Log
	reads *projections.Store
	logs  bytes.Buffer // what the projector logged; read it after Stop
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{srv: natstest.Start(t)}
	var err error
	f.log, err = eventlog.Open(context.Background(), f.srv.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.reads, err = projections.Open(filepath.Join(t.TempDir(), "readmodel.db"), projections.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.reads.Close() })
	return f
}

func (f *fixture) config() Config {
	return config(f.log, f.reads, slog.New(slog.NewTextHandler(&f.logs, nil)))
}

// create appends the creation of n links in test mode and returns the
// stream's last sequence.
func (f *fixture) create(t *testing.T, n int) uint64 {
	ctx := context.Background()
	var seq uint64
	for range n {
		id := randid.New("link_")
		_, s, err := f.log.Create(ctx, events.ModeTest, id, func(st domain.Link) ([]events.Event, error) {
			now := time.Now().UTC()
			p, err := domain.Decide(st, domain.CreateLink{Mode: events.ModeTest, LinkID: id, Token: randid.Token(),
				File: domain.File{ID: "file_1", Found: true, Mode: events.ModeTest, Purpose: "dispute_evidence"}}, now)
			if err != nil {
				return nil, err
			}
			evs, _ := domain.Seal(id, events.ModeTest, st, p, now, events.Audit{Actor: "test"}, []string{randid.New("evt_")})
			return evs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		seq = s
	}
	return seq
}

// newer appends a link creation of a schema newer than this binary's, as
// a newer binary would write it.
func (f *fixture) newer(t *testing.T) {
	now := time.Now().UTC()
	id := randid.New("link_")
	p, err := domain.Decide(domain.Link{}, domain.CreateLink{Mode: events.ModeTest, LinkID: id, Token: randid.Token(),
		File: domain.File{ID: "file_1", Found: true, Mode: events.ModeTest, Purpose: "dispute_evidence"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := domain.Seal(id, events.ModeTest, domain.Link{}, p, now, events.Audit{Actor: "test"}, []string{randid.New("evt_")})
	data, err := events.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	schema := `"schema":` + strconv.Itoa(events.Schema)
	if !bytes.Contains(data, []byte(schema)) {
		t.Fatalf("no %s in %s", schema, data)
	}
	data = bytes.Replace(data, []byte(schema), []byte(`"schema":`+strconv.Itoa(events.Schema+1)), 1)
	m := nats.NewMsg(events.SubjectOf(events.ModeTest, id, events.ClassOf(evs[0].Payload)))
	m.Data = data
	m.Header.Set(events.TypeHeader, evs[0].Type)
	m.Header.Set(events.SchemaHeader, strconv.Itoa(events.Schema+1))
	if _, err := f.srv.JS.PublishMsg(context.Background(), m, jetstream.WithMsgID(evs[0].ID)); err != nil {
		t.Fatal(err)
	}
}

func TestStart(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		startup := f.create(t, 20)
		p, err := Start(ctx, f.config())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		if err := f.reads.WaitFor(ctx, startup); err != nil {
			t.Fatal(err)
		}
		if err := p.Ready(); err != nil {
			t.Fatalf("ready after catching up: %v", err)
		}
		// Live events, and a wait that hurries the lingering batch.
		last := f.create(t, 5)
		if err := f.reads.WaitFor(ctx, last); err != nil {
			t.Fatal(err)
		}
		if ck := f.reads.Checkpoint(); ck != last {
			t.Fatalf("checkpoint %d, want %d", ck, last)
		}
	})

	t.Run("ErrStopped", func(t *testing.T) {
		f := newFixture(t)
		f.create(t, 3)
		f.newer(t)
		f.create(t, 1)
		p, err := Start(context.Background(), f.config())
		if err != nil {
			t.Fatal(err)
		}
		<-p.done // it stops on its own at the newer event
		p.Stop()
		if err := p.Ready(); !errors.Is(err, projections.ErrStopped) || !errors.Is(err, events.ErrUnsupported) {
			t.Fatalf("Ready() = %v, want ErrStopped wrapping ErrUnsupported", err)
		}
		if ck := f.reads.Checkpoint(); ck != 3 {
			t.Fatalf("checkpoint %d, want 3: the events before the newer one", ck)
		}
		if !strings.Contains(f.logs.String(), "projector stopped") {
			t.Fatalf("logged:\n%s", f.logs.String())
		}
	})

	t.Run("Rebuild", func(t *testing.T) {
		// A stream of rebuildFrom events or more is rebuilt into an empty
		// read model, not applied batch by batch.
		f := newFixture(t)
		ctx := context.Background()
		truth := fillStream(t, f.srv.Conn, rebuildFrom+500)
		last, err := f.log.LastSequence(ctx)
		if err != nil || last != uint64(truth.n) {
			t.Fatalf("stream holds %d events (%v), want %d", last, err, truth.n)
		}
		p, err := Start(ctx, f.config())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.reads.WaitFor(ctx, last); err != nil {
			t.Fatal(err)
		}
		p.Stop()
		if err := p.Ready(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f.logs.String(), "rebuilt the read model") {
			t.Fatalf("no rebuild; logged:\n%s", f.logs.String())
		}
		truth.check(t, f.reads)
	})
}

func TestCatchUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	last := f.create(t, 12)
	if err := CatchUp(ctx, f.config()); err != nil {
		t.Fatal(err)
	}
	if ck := f.reads.Checkpoint(); ck != last {
		t.Fatalf("checkpoint %d, want %d", ck, last)
	}
	// Nothing new: it returns without starting a projector.
	if err := CatchUp(ctx, f.config()); err != nil {
		t.Fatal(err)
	}
}
