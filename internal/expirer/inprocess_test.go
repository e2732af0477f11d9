package expirer_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/filelinks/filelinks/internal/app"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/expirer"
	"github.com/filelinks/filelinks/internal/randid"
	"github.com/filelinks/filelinks/projections"
)

// startInProcess starts a read model that follows the world's stream as
// the service's projector does (with its linger), and an expirer on it,
// both stopped when the test ends. Its recheck is a minute: a deadline is
// fired on time only if the read model told the timer of it.
func (w *world) startInProcess() *expirer.Expirer {
	w.t.Helper()
	reads, err := projections.Open(filepath.Join(w.dir, "readmodel.db"), projections.Options{Logger: testLogger()})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = w.log.Follow(ctx, reads.Checkpoint()+1, reads.Apply, eventlog.Linger(20*time.Millisecond, reads.Hurry()))
	}()
	links := &app.Links{Log: w.log, Reads: reads, NewID: randid.New, NewToken: randid.Token, Now: w.clock.now}
	e, err := expirer.StartInProcess(expirer.Config{Recheck: time.Minute, SummaryInterval: -1},
		expirer.InProcessDeps{Reads: reads, Links: links, Now: w.clock.now, Logger: testLogger()})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		e.Stop()
		cancel()
		<-followed
		_ = reads.Close()
	})
	return e
}

// TestExpirer_InProcess: an expirer on the read model fires each due
// deadline once, on time, and leaves alone the links moved, cleared,
// expired by hand or deleted before their deadline.
func TestExpirer_InProcess(t *testing.T) {
	w := newWorld(t)
	e := w.startInProcess()
	due, spared, later := w.scenario()

	// Within 15 s, well before the minute of recheck: the read model told
	// the timer of the deadlines.
	eventually(t, 15*time.Second, "due links expired", func() bool { return e.Stats().Expired == uint64(len(due)) })
	// Every removal waited for the read model, so nothing fires twice.
	eventually(t, 10*time.Second, "expirer idle", func() bool { return e.Stats().InFlight == 0 })
	w.checkExpiries(due, spared)
	s := e.Stats()
	if s.Pending != -1 || !s.Next.Equal(later) || s.Lateness.Count != uint64(len(due)) {
		t.Fatalf("stats %+v: want pending -1 (not counted), next %s", s, later)
	}
	t.Logf("lateness p50 ≤ %s, max %s", s.Lateness.Quantile(0.5), s.Lateness.Max)
}
