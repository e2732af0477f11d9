package expirer_test

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/filelinks/filelinks/internal/app"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// BenchmarkExpirer_Ingest measures the feed alone: an expirer with a new
// schedule reads 20,000 LinkCreated events with a deadline (far ahead, so
// nothing fires) from its consumer into its schedule. ns/event and
// allocs/event are per event, for the whole process (the NATS server
// included), so they tell what the Watermill consumer costs per event.
//
//	go test ./internal/expirer -run '^$' -bench Ingest -benchtime 3x -count 5
func BenchmarkExpirer_Ingest(b *testing.B) {
	const n = 20_000
	srv := natstest.Start(b)
	ctx := context.Background()
	log, err := eventlog.Open(ctx, srv.JS, eventlog.Config{})
	if err != nil {
		b.Fatal(err)
	}
	publishLinks(b, srv.Conn, n, time.Now().Add(24*time.Hour), time.Hour)
	last, err := lastForExpirer(ctx, log)
	if err != nil {
		b.Fatal(err)
	}
	links := &app.Links{Log: log, NewID: randid.New, NewToken: randid.Token}
	dir := b.TempDir()
	var ms0, ms1 runtime.MemStats
	var elapsed time.Duration
	var mallocs uint64
	for i := range b.N {
		name := "ingest-" + strconv.Itoa(i)
		cfg := expirer.Config{SchedulePath: filepath.Join(dir, name+".db"), Name: name, SummaryInterval: -1, NoSync: true}
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		e, err := expirer.Start(ctx, cfg, expirer.Deps{Conn: srv.Conn, Links: links, Logger: testLogger()})
		if err != nil {
			b.Fatal(err)
		}
		waitEvery(b, time.Minute, time.Millisecond, func() bool { return e.Stats().Checkpoint >= last })
		elapsed += time.Since(start)
		runtime.ReadMemStats(&ms1)
		mallocs += ms1.Mallocs - ms0.Mallocs
		e.Stop()
		if p := e.Stats().Pending; p != n {
			b.Fatalf("pending %d, want %d", p, n)
		}
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n), "ns/event")
	b.ReportMetric(float64(mallocs)/float64(b.N*n), "allocs/event")
}
