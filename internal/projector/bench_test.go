package projector

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/projections"
)

// benchEvents is the length of the stream BenchmarkProjector replays.
const benchEvents = 1_000_000

// BenchmarkProjector replays a stream of a million real events into a fresh
// read model, the way the service catches up after a start on an empty
// file: the projector as the service runs it (Start: a rebuild, then
// Log.Follow feeding Store.Apply) from sequence 1 until the checkpoint
// reaches the last sequence. In the same run, BareConsumer reads the same
// stream with Follow and a callback that does nothing: the ceiling the
// projector is measured against (the "bare" metric of Projector is its
// share of that rate).
//
//	go test ./internal/projector -run X -bench Projector -benchtime 1x
//
// With PROJ_PROFILE=file, a CPU profile of the Projector runs (and of
// nothing else) is written to file.
//
// The stream is filled once, through the domain (Decide and Seal on each
// link's state, ids from randid as the service makes them, events.Marshal)
// and published asynchronously with the subjects and headers the event log
// writes. Its mix, printed with -v: about 60% LinkCreated (to 3,000 files,
// a fifth of them test mode; 70% of the links expire 1 hour or 24 hours
// after creation), 30% LinkUpdated (metadata or a new expiry, of a link
// created recently or of any link), and the rest LinkExpired (the expirer,
// at each deadline) and LinkDeleted, with the 3,000 FileCreated events.
func BenchmarkProjector(b *testing.B) {
	srv := natstest.Start(b)
	ctx := context.Background()
	// A short duplicate window, waited out after filling: a rebuild reads a
	// stream written long before, when the server no longer holds the
	// message ids of its duplicate window (up to a million of them here,
	// which the garbage collector would scan during the measurement).
	const dupWindow = 2 * time.Second
	log, err := eventlog.Open(ctx, srv.JS, eventlog.Config{Duplicates: dupWindow})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	truth := fillStream(b, srv.Conn, benchEvents)
	last, err := log.LastSequence(ctx)
	if err != nil || last != benchEvents {
		b.Fatalf("stream holds %d events (%v), want %d", last, err, benchEvents)
	}
	b.Logf("filled %d events in %s: %s", last, time.Since(start).Round(time.Millisecond), truth.mix())
	// Keep a sample of the truth only: a projector process does not hold
	// the states of all links, and the garbage collector would scan them.
	truth.sample(2000)
	time.Sleep(3 * dupWindow)
	runtime.GC()

	var bare float64 // events/s of BareConsumer, when it ran
	b.Run("BareConsumer", func(b *testing.B) {
		var elapsed time.Duration
		for range b.N {
			t0 := time.Now()
			followAll(b, log, last)
			elapsed += time.Since(t0)
		}
		bare = float64(b.N) * float64(last) / elapsed.Seconds()
		b.ReportMetric(bare, "events/s")
		b.ReportMetric(0, "ns/op")
	})

	b.Run("Projector", func(b *testing.B) {
		var elapsed time.Duration
		for i := range b.N {
			dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				b.Fatal(err)
			}
			var pf *os.File
			if path := os.Getenv("PROJ_PROFILE"); path != "" {
				pf, _ = os.Create(path)
				pprof.StartCPUProfile(pf)
			}
			d, reads := project(b, log, filepath.Join(dir, "readmodel.db"), last)
			if pf != nil {
				pprof.StopCPUProfile()
				pf.Close()
			}
			elapsed += d
			if i == b.N-1 {
				truth.check(b, reads)
			}
			if err := reads.Close(); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(dir)
		}
		rate := float64(b.N) * float64(last) / elapsed.Seconds()
		b.ReportMetric(rate, "events/s")
		if bare > 0 {
			b.ReportMetric(rate/bare, "bare")
		}
		b.ReportMetric(0, "ns/op")
	})
}

// followAll reads the stream from 1 to last with Follow and does nothing
// with the records.
func followAll(b *testing.B, log *eventlog.Log, last uint64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n uint64
	err := log.Follow(ctx, 1, func(recs []events.Record) error {
		n += uint64(len(recs))
		if recs[len(recs)-1].Seq >= last {
			cancel()
		}
		return nil
	}, 0, nil)
	if err != nil || n != last {
		b.Fatalf("follow read %d of %d records: %v", n, last, err)
	}
}

// project runs the projector into a fresh file at path until it
// has applied last, and returns how long that took and the open store.
func project(b *testing.B, log *eventlog.Log, path string, last uint64) (time.Duration, *projections.Store) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	t0 := time.Now()
	reads, err := projections.Open(path, projections.Options{Logger: logger, SyncOnBootChange: true}) // as the service does
	if err != nil {
		b.Fatal(err)
	}
	p, err := Start(ctx, config(log, reads, logger))
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	err = reads.WaitFor(wctx, last)
	d := time.Since(t0)
	p.Stop()
	if err != nil {
		b.Fatalf("projector at %d of %d: %v (%v)", reads.Checkpoint(), last, err, p.Ready())
	}
	if st := reads.Stats(); st.Skipped != 0 || st.LastError != nil || p.Ready() != nil {
		b.Fatalf("projector: %+v, ready: %v", st, p.Ready())
	}
	return d, reads
}
