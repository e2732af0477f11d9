package expirer_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/app"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/expirer/schedule"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// BenchmarkExpirer1M measures the expirer with FILELINKS_BENCH_LINKS links
// (default 1,000,000) pending, their deadlines (whole seconds, as the API
// stores them) spread uniformly over FILELINKS_BENCH_SPREAD (default 3m)
// from FILELINKS_BENCH_LEAD (default 2m) after the start, which leaves time
// to publish the events and fill the schedule first. It reports the
// lateness of the LinkExpired events as the stream has them (event time -
// deadline), the schedule's bytes per pending expiry, the process's memory,
// and the restart time with everything pending. The NATS server runs in the
// same process, as in the all-in-one service. Run it once:
//
//	go test ./internal/expirer -run '^$' -bench Expirer1M -benchtime 1x -timeout 30m
func BenchmarkExpirer1M(b *testing.B) {
	n := envInt(b, "FILELINKS_BENCH_LINKS", 1_000_000)
	spread := envDuration(b, "FILELINKS_BENCH_SPREAD", 3*time.Minute)
	lead := envDuration(b, "FILELINKS_BENCH_LEAD", 2*time.Minute)
	for range b.N {
		benchOnce(b, n, lead, spread)
	}
}

func benchOnce(b *testing.B, n int, lead, spread time.Duration) {
	srv := natstest.Start(b)
	ctx := context.Background()
	log, err := eventlog.Open(ctx, srv.JS, eventlog.Config{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	base := start.Add(lead)
	ids := publishLinks(b, srv.Conn, n, base, spread)
	published := time.Since(start)
	last, err := lastForExpirer(ctx, log)
	if err != nil {
		b.Fatal(err)
	}

	dir := b.TempDir()
	links := &app.Links{Log: log, NewID: randid.New, NewToken: randid.Token}
	cfg := expirer.Config{SchedulePath: filepath.Join(dir, "expirer.db"), SummaryInterval: 10 * time.Second,
		Workers: envInt(b, "FILELINKS_BENCH_WORKERS", 0)}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tl := &timedLinks{Links: links}
	deps := expirer.Deps{Conn: srv.Conn, Links: tl, Logger: logger}
	defer func() { b.Logf("expire calls %d avg %s max %s", tl.n, tl.sum/time.Duration(max(tl.n, 1)), tl.max) }()
	heapBefore, _ := memory(true)
	t1 := time.Now()
	e, err := expirer.Start(ctx, cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	waitFor(b, lead, func() bool { s := e.Stats(); return s.Checkpoint >= last })
	ingest := time.Since(t1)
	if p := e.Stats().Pending; p != n {
		b.Fatalf("pending %d, want %d", p, n)
	}
	fi, err := os.Stat(cfg.SchedulePath)
	if err != nil {
		b.Fatal(err)
	}
	heapFull, rssFull := memory(true)

	// Restart with everything pending: open the schedule, reposition the
	// consumer, first look at the schedule.
	e.Stop()
	t3 := time.Now()
	sched, err := schedule.Open(cfg.SchedulePath, schedule.Options{})
	if err != nil {
		b.Fatal(err)
	}
	openSched := time.Since(t3)
	sched.Close()
	t2 := time.Now()
	e, err = expirer.Start(ctx, cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	started := time.Since(t2)
	waitEvery(b, time.Minute, time.Millisecond, func() bool { return e.Stats().Ticks > 0 })
	restart := time.Since(t2)
	defer e.Stop()
	if time.Now().After(base) {
		b.Logf("WARNING: the schedule was ready only %s after the first deadline; raise FILELINKS_BENCH_LEAD", time.Since(base))
	}

	var peakRSS uint64
	waitFor(b, time.Until(base)+time.Minute, func() bool { return time.Now().After(base) })
	cpu0, busy0, wall0 := cpuTime(), machineBusy(), time.Now()
	stopProfile := func() {}
	if path := os.Getenv("FILELINKS_BENCH_CPUPROFILE"); path != "" {
		// The expiry phase alone, without publishing and filling.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	waitFor(b, time.Until(base)+spread+5*time.Minute, func() bool {
		_, rss := memory(false)
		peakRSS = max(peakRSS, rss)
		return e.Stats().Expired >= uint64(n)
	})
	s := e.Stats()
	stopProfile()
	window := time.Since(wall0).Seconds()
	cpuUse := (cpuTime() - cpu0).Seconds() / window
	others := (machineBusy()-busy0).Seconds()/window - cpuUse

	late, perLink := readLateness(b, log, last)
	for _, id := range ids {
		if perLink[id] != 1 {
			b.Fatalf("%s has %d LinkExpired, want 1", id, perLink[id])
		}
	}
	slices.Sort(late)
	q := func(p float64) time.Duration { return late[min(int(p*float64(len(late))), len(late)-1)] }
	b.ReportMetric(float64(q(0.50).Milliseconds()), "p50-late-ms")
	b.ReportMetric(float64(q(0.99).Milliseconds()), "p99-late-ms")
	b.ReportMetric(float64(late[len(late)-1].Milliseconds()), "max-late-ms")
	b.ReportMetric(float64(fi.Size())/float64(n), "schedule-B/pending")
	b.ReportMetric(float64(restart.Milliseconds()), "restart-ms")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(cpuUse*window*1e6/float64(n), "cpu-µs/expiry")
	b.ReportMetric(max(others, 0), "other-procs-cores")
	b.Logf("%d links, deadlines over %s from %s after start (%d per second at each whole second)", n, spread, lead, n/int(spread.Seconds()))
	b.Logf("published in %s; schedule filled in %s (%.0f events/s)", published.Round(time.Millisecond), ingest.Round(time.Millisecond), float64(n)/ingest.Seconds())
	b.Logf("schedule file %d MiB for %d pending = %.0f B each; Go heap in use %d MiB before the expirer started, %d MiB with the schedule full (%+.1f B per pending); RSS %d MiB (NATS server and schedule mmap included)",
		fi.Size()>>20, n, float64(fi.Size())/float64(n), heapBefore>>20, heapFull>>20, (float64(heapFull)-float64(heapBefore))/float64(n), rssFull>>20)
	b.Logf("restart with %d pending: opening the schedule alone %s; Start %s, first timer tick after %s", n,
		openSched.Round(time.Millisecond), started.Round(time.Millisecond), restart.Round(time.Millisecond))
	b.Logf("lateness from the stream: p50 %s, p90 %s, p99 %s, p99.9 %s, max %s; peak RSS %d MiB",
		q(0.5), q(0.9), q(0.99), q(0.999), late[len(late)-1], peakRSS>>20)
	b.Logf("CPU while expiring: this process %.2f cores, other processes %.2f cores, of %d; %.0f µs of this process's CPU (NATS server included) per LinkExpired",
		cpuUse, max(others, 0), runtime.NumCPU(), cpuUse*window*1e6/float64(n))
	b.Logf("expirer's own histogram: p50 ≤ %s, p99 ≤ %s, max %s; noops %d, failures %d, not due %d",
		s.Lateness.Quantile(0.5), s.Lateness.Quantile(0.99), s.Lateness.Max, s.NoOps, s.Failures, s.NotDue)
}

// publishLinks stores n LinkCreated events, encoded as the event log
// encodes them, with asynchronous publishes. Deadline i is base +
// spread·i/n, truncated to the second.
func publishLinks(b *testing.B, nc *nats.Conn, n int, base time.Time, spread time.Duration) []string {
	var failed atomic.Int64
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4000),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range n {
		id := randid.New("link_")
		ids[i] = id
		deadline := base.Add(time.Duration(int64(spread) * int64(i) / int64(n))).UTC().Truncate(time.Second)
		data, err := events.Marshal(events.Event{
			Envelope: events.Envelope{ID: randid.New("evt_"), LinkID: id, Mode: events.ModeLive, Version: 1, Time: now,
				Audit: events.Audit{Actor: "bench"},
				Link: events.LinkState{ID: id, Mode: events.ModeLive, FileID: "file_bench", Token: randid.Token(), Created: now,
					ExpiresAt: &deadline, Metadata: map[string]string{}, Version: 1}},
			Payload: events.LinkCreated{FileID: "file_bench", ExpiresAt: &deadline, Metadata: map[string]string{}},
		})
		if err != nil {
			b.Fatal(err)
		}
		m := nats.NewMsg(events.SubjectOf(events.ModeLive, id, events.ClassExpiry))
		m.Data = data
		m.Header.Set(events.TypeHeader, events.TypeLinkCreated)
		m.Header.Set(events.SchemaHeader, "1")
		for {
			_, err := js.PublishMsgAsync(m)
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				<-js.PublishAsyncComplete() // let the server catch up
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			break
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("publishes not acknowledged")
	}
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d publishes failed", n)
	}
	return ids
}

// readLateness reads the stream after seq from and returns the lateness of
// every LinkExpired (event time - deadline) and their number per link.
func readLateness(b *testing.B, log *eventlog.Log, from uint64) ([]time.Duration, map[string]int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	last, err := log.LastSequence(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var late []time.Duration
	perLink := map[string]int{}
	err = log.Follow(ctx, from+1, func(recs []events.Record) error {
		for _, r := range recs {
			e, err := events.Unmarshal(r.Data)
			if err != nil {
				return err
			}
			if p, ok := e.Payload.(events.LinkExpired); ok {
				late = append(late, e.Time.Sub(p.Deadline))
				perLink[e.LinkID]++
			}
			if r.Seq >= last {
				cancel()
			}
		}
		return nil
	}, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	return late, perLink
}

func waitFor(b *testing.B, limit time.Duration, cond func() bool) {
	waitEvery(b, limit, 100*time.Millisecond, cond)
}

func waitEvery(b *testing.B, limit, every time.Duration, cond func() bool) {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("not within %s", limit)
		}
		time.Sleep(every)
	}
}

// memory returns the Go heap in use (after a collection, if gc) and the
// process's resident set size, in bytes.
func memory(gc bool) (heap, rss uint64) {
	var ms runtime.MemStats
	if gc { // ReadMemStats stops the world: only when asked
		runtime.GC()
		runtime.ReadMemStats(&ms)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				rss = kb << 10
			}
		}
	}
	return ms.HeapInuse, rss
}

// machineBusy returns the CPU time all processes of the machine used so
// far (from /proc/stat, in clock ticks of 10ms), to tell how much of the
// machine other work took during a measurement.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var ticks uint64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// cpuTime returns the user and system CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return n
	}
	return def
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return d
	}
	return def
}

// timedLinks measures the Expire calls the expirer makes.
type timedLinks struct {
	expirer.Links
	mu  sync.Mutex
	n   int
	sum time.Duration
	max time.Duration
}

func (t *timedLinks) Expire(ctx context.Context, mode events.Mode, id string, deadline time.Time, audit events.Audit) (bool, error) {
	s := time.Now()
	ok, err := t.Links.Expire(ctx, mode, id, deadline, audit)
	d := time.Since(s)
	t.mu.Lock()
	t.n++
	t.sum += d
	t.max = max(t.max, d)
	t.mu.Unlock()
	return ok, err
}
