package expirer

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats describe a running expirer. Counters count since Start.
type Stats struct {
	Name string
	// Pending is the number of links with a deadline in the schedule;
	// Next the earliest deadline (zero when none).
	Pending int
	Next    time.Time
	// Checkpoint is the last stream sequence the schedule has applied.
	Checkpoint uint64
	// InFlight are entries being expired or waiting for their removal;
	// Retrying are entries whose expiry failed and waits to be retried.
	InFlight, Retrying int
	// Received counts stream messages taken into the schedule.
	Received uint64
	// Expired counts LinkExpired events appended; NoOps deadlines that
	// needed no event (moved, cleared, deleted or already expired);
	// NotDue the refusals because the clock was still before the deadline;
	// Failures the other failed attempts, all retried.
	Expired, NoOps, NotDue, Failures uint64
	// Poisoned counts messages copied to the poison stream; Malformed the
	// undecodable ones among them; Unsupported the events skipped as too
	// new for this binary (reread on the next start).
	Poisoned, Malformed, Unsupported uint64
	// Resyncs counts restarts of the subscription at the checkpoint.
	Resyncs uint64
	// Ticks counts the timer's reads of the schedule.
	Ticks uint64
	// Lateness is the distribution of (time appended - deadline) of each
	// LinkExpired appended.
	Lateness Histogram
}

// LatenessBounds are the upper bounds of the lateness histogram's buckets;
// a last bucket holds everything later.
var LatenessBounds = []time.Duration{
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second,
	10 * time.Second, 30 * time.Second, time.Minute, 10 * time.Minute, time.Hour,
}

// Histogram is a fixed-bucket histogram of durations.
type Histogram struct {
	// Counts[i] counts values ≤ LatenessBounds[i] (and above the bound
	// before); Counts[len(LatenessBounds)] the rest.
	Counts []uint64
	Count  uint64
	Sum    time.Duration
	Max    time.Duration
}

// Quantile returns the upper bound of the bucket that holds quantile q
// (0 < q ≤ 1), or Max when that is the last bucket or smaller; 0 when
// empty.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(h.Count) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			if i < len(LatenessBounds) && LatenessBounds[i] < h.Max {
				return LatenessBounds[i]
			}
			return h.Max
		}
	}
	return h.Max
}

type histogram struct {
	mu sync.Mutex
	h  Histogram
}

func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	i := 0
	for i < len(LatenessBounds) && d > LatenessBounds[i] {
		i++
	}
	h.mu.Lock()
	if h.h.Counts == nil {
		h.h.Counts = make([]uint64, len(LatenessBounds)+1)
	}
	h.h.Counts[i]++
	h.h.Count++
	h.h.Sum += d
	h.h.Max = max(h.h.Max, d)
	h.mu.Unlock()
}

func (h *histogram) snapshot() Histogram {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.h
	out.Counts = append([]uint64(nil), h.h.Counts...)
	if out.Counts == nil {
		out.Counts = make([]uint64, len(LatenessBounds)+1)
	}
	return out
}

// counters are the expirer's atomic counters.
type counters struct {
	received, expired, noops, notDue, failures atomic.Uint64
	poisoned, malformed, unsupported, resyncs  atomic.Uint64
	ticks                                      atomic.Uint64
	lateness                                   histogram
}

// Stats returns the expirer's state and counters.
func (e *Expirer) Stats() Stats {
	next, _ := e.sched.Next()
	inflight, retrying := e.timer.sizes()
	c := e.st
	return Stats{
		Name:        e.cfg.Name,
		Pending:     e.sched.Pending(),
		Next:        next,
		Checkpoint:  e.sched.Checkpoint(),
		InFlight:    inflight,
		Retrying:    retrying,
		Received:    c.received.Load(),
		Expired:     c.expired.Load(),
		NoOps:       c.noops.Load(),
		NotDue:      c.notDue.Load(),
		Failures:    c.failures.Load(),
		Poisoned:    c.poisoned.Load(),
		Malformed:   c.malformed.Load(),
		Unsupported: c.unsupported.Load(),
		Resyncs:     c.resyncs.Load(),
		Ticks:       c.ticks.Load(),
		Lateness:    c.lateness.snapshot(),
	}
}

// summarize logs a summary line every interval in which anything changed,
// until stop is closed.
func (e *Expirer) summarize(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last Stats
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s := e.Stats()
		if s.Pending == last.Pending && s.Checkpoint == last.Checkpoint && s.Expired == last.Expired &&
			s.NoOps == last.NoOps && s.Failures == last.Failures && s.Poisoned == last.Poisoned &&
			s.Unsupported == last.Unsupported && s.Resyncs == last.Resyncs && s.InFlight == last.InFlight {
			continue
		}
		attrs := []any{
			"name", s.Name, "pending", s.Pending, "checkpoint", s.Checkpoint,
			"expired", s.Expired, "noops", s.NoOps, "failures", s.Failures,
			"in_flight", s.InFlight, "retrying", s.Retrying,
			"late_p50", s.Lateness.Quantile(0.5), "late_p99", s.Lateness.Quantile(0.99), "late_max", s.Lateness.Max,
			"poisoned", s.Poisoned, "unsupported", s.Unsupported, "resyncs", s.Resyncs,
		}
		if !s.Next.IsZero() {
			attrs = append(attrs, "next", s.Next.Format(time.RFC3339))
		}
		e.log.Info("expirer summary", attrs...)
		last = s
	}
}
