package projector

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/randid"
	"github.com/filelinks/filelinks/projections"
)

// derivedIDs (FILELINKS_BENCH_DERIVED_IDS=1) gives the links ids derived
// from an idempotency key, as a create with one (every SDK create) makes:
// not time-ordered, so they reach the read model in random key order.
var derivedIDs = os.Getenv("FILELINKS_BENCH_DERIVED_IDS") == "1"

// benchTruth is what fillStream wrote: every link's state, and counts.
type benchTruth struct {
	links  []*domain.Link // in creation order
	counts map[string]int // events by type
	n      int            // events written
}

func (t *benchTruth) mix() string {
	s := ""
	for _, typ := range []string{events.TypeLinkCreated, events.TypeLinkUpdated, events.TypeLinkExpired,
		events.TypeLinkDeleted, events.TypeFileCreated} {
		s += fmt.Sprintf("%s %.1f%% ", typ, 100*float64(t.counts[typ])/float64(t.n))
	}
	return s
}

// sample keeps n random links of the truth.
func (t *benchTruth) sample(n int) {
	r := rand.New(rand.NewPCG(1, 2))
	keep := make([]*domain.Link, n)
	for i := range keep {
		keep[i] = t.links[r.IntN(len(t.links))]
	}
	t.links = keep
}

// check compares the links of the truth with the read model.
func (t *benchTruth) check(tb testing.TB, reads *projections.Store) {
	for _, want := range t.links {
		got, err := reads.Get(want.Mode, want.ID)
		switch {
		case want.DeletedAt != nil:
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				tb.Fatalf("deleted link %s: %+v, %v", want.ID, got, err)
			}
		case err != nil:
			tb.Fatalf("link %s: %v", want.ID, err)
		case got.Version != want.Version || got.Token != want.Token || len(got.Metadata) != len(want.Metadata) ||
			(got.ExpiresAt == nil) != (want.ExpiresAt == nil) || (got.ExpiredAt == nil) != (want.ExpiredAt == nil):
			tb.Fatalf("link %s:\n got %+v\nwant %+v", want.ID, got, *want)
		}
		if want.DeletedAt == nil {
			if byToken, err := reads.GetByToken(want.Token); err != nil || byToken.ID != want.ID {
				tb.Fatalf("token of %s: %+v, %v", want.ID, byToken, err)
			}
		}
	}
}

// deadline is a scheduled expiry, as the expirer keeps them.
type deadline struct {
	at   time.Time
	link *domain.Link
}

type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at.Before(d[j].at) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}

// benchFile is one file of the pool; its FileCreated is written just before
// the first link to it.
type benchFile struct {
	id      string
	mode    events.Mode
	written bool
}

// filler writes the benchmark stream.
type filler struct {
	tb    testing.TB
	js    jetstream.JetStream
	max   int // events to publish
	r     *rand.Rand
	now   time.Time
	n     int // events published
	files []benchFile
	due   deadlines
	truth *benchTruth
}

// fillStream publishes n events and returns what they say.
func fillStream(tb testing.TB, nc *nats.Conn, n int) *benchTruth {
	var pubErrs atomic.Int64
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { pubErrs.Add(1) }))
	if err != nil {
		tb.Fatal(err)
	}
	const step = 5 * time.Millisecond // simulated time between two events
	f := &filler{
		tb: tb, js: js, max: n, r: rand.New(rand.NewPCG(42, 42)),
		now:   time.Now().Add(-time.Duration(n) * step).UTC().Truncate(time.Millisecond),
		truth: &benchTruth{counts: map[string]int{}},
	}
	f.files = make([]benchFile, 3000)
	for i := range f.files {
		mode := events.ModeLive
		if i%5 == 0 {
			mode = events.ModeTest
		}
		f.files[i] = benchFile{id: randid.New("file_"), mode: mode}
	}
	for f.n < n {
		f.now = f.now.Add(step/2 + time.Duration(f.r.Int64N(int64(step))))
		switch p := f.r.Float64(); {
		case len(f.due) > 0 && !f.due[0].at.After(f.now):
			f.expire(heap.Pop(&f.due).(deadline))
		case p < 0.61 || len(f.truth.links) < 1000:
			f.create()
		case p < 0.92:
			f.update()
		default:
			f.delete()
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		tb.Fatal("publishing did not complete")
	}
	if n := pubErrs.Load(); n > 0 {
		tb.Fatalf("%d publishes failed", n)
	}
	return f.truth
}

func (f *filler) create() {
	file := &f.files[f.r.IntN(len(f.files))]
	if !file.written {
		if f.n+2 > f.max {
			f.n = f.max // no room for both events: end here
			return
		}
		f.writeFile(file)
	}
	md := map[string]string{"order": "ord_" + strconv.Itoa(f.n)}
	if f.r.IntN(2) == 0 {
		md["customer"] = "cus_" + strconv.Itoa(f.r.IntN(50_000))
	}
	var exp *time.Time
	switch p := f.r.Float64(); {
	case p < 0.35:
		exp = new(f.now.Add(time.Hour))
	case p < 0.70:
		exp = new(f.now.Add(24 * time.Hour))
	}
	id := randid.New("link_")
	if derivedIDs {
		// As made by an SDK create with an Idempotency-Key: not time-ordered.
		id = randid.Derived("link_", "bench", strconv.Itoa(f.n))
	}
	state := &domain.Link{ID: id, Mode: file.mode}
	f.do(state, domain.CreateLink{
		Mode: file.mode, LinkID: id, Token: domain.LinkToken(id, randid.Token()),
		File:      domain.File{ID: file.id, Found: true, Mode: file.mode, Purpose: "dispute_evidence"},
		ExpiresAt: exp, Metadata: domain.MetadataPatch{Set: md},
	})
	f.truth.links = append(f.truth.links, state)
}

// pick returns a link that can be updated at now: mostly one of the latest
// created, else any.
func (f *filler) pick() *domain.Link {
	links := f.truth.links
	for {
		var l *domain.Link
		if f.r.IntN(10) < 6 {
			l = links[len(links)-1-f.r.IntN(min(2000, len(links)))]
		} else {
			l = links[f.r.IntN(len(links))]
		}
		if l.Exists() && !l.Expired(f.now) {
			return l
		}
	}
}

func (f *filler) update() {
	l := f.pick()
	var u domain.UpdateLink
	switch p := f.r.Float64(); {
	case p < 0.6:
		u.Metadata.Set = map[string]string{"status": "s" + strconv.Itoa(f.n)}
	case p < 0.7:
		u.Metadata.Set = map[string]string{"customer": ""}
		if _, ok := l.Metadata["customer"]; !ok {
			u.Metadata.Set = map[string]string{"note": "x"}
		}
	case p < 0.8:
		u.Expiry = domain.ExpiryClear
		if l.ExpiresAt == nil {
			u.Expiry, u.ExpiresAt = domain.ExpirySet, f.now.Add(24*time.Hour)
		}
	default:
		u.Expiry, u.ExpiresAt = domain.ExpirySet, f.now.Add(time.Duration(1+f.r.IntN(48))*time.Hour)
	}
	f.do(l, u)
}

func (f *filler) delete() { f.do(f.pick(), domain.DeleteLink{}) }

// expire is the expirer at a deadline; a deadline that was moved since it
// was scheduled decides nothing.
func (f *filler) expire(d deadline) { f.do(d.link, domain.ExpireLink{Deadline: d.at}) }

// do decides cmd on *state at now, publishes the events and updates *state.
func (f *filler) do(state *domain.Link, cmd domain.Command) {
	ps, err := domain.Decide(*state, cmd, f.now)
	if err != nil {
		f.tb.Fatalf("decide %T on %s: %v", cmd, state.ID, err)
	}
	if len(ps) == 0 || f.n+len(ps) > f.max {
		return
	}
	ids := make([]string, len(ps))
	for i := range ids {
		ids[i] = randid.New("evt_")
	}
	audit := events.Audit{Actor: "api", KeyID: "kh_0a1b2c3d", RequestID: randid.New("req_")}
	if _, ok := cmd.(domain.ExpireLink); ok {
		audit = events.Audit{Actor: "expirer"}
	}
	evs, next := domain.Seal(state.ID, state.Mode, *state, ps, f.now, audit, ids)
	for _, e := range evs {
		data, err := events.Marshal(e)
		if err != nil {
			f.tb.Fatal(err)
		}
		f.publish(events.SubjectOf(e.Mode, e.LinkID, events.ClassOf(e.Payload)), data, e.ID, e.Type)
	}
	if next.ExpiresAt != nil && next.ExpiredAt == nil && next.DeletedAt == nil &&
		(state.ExpiresAt == nil || !state.ExpiresAt.Equal(*next.ExpiresAt)) {
		heap.Push(&f.due, deadline{at: *next.ExpiresAt, link: state})
	}
	*state = next
}

func (f *filler) writeFile(file *benchFile) {
	e := events.FileEvent{
		ID: randid.New("evt_"), FileID: file.id, Mode: file.mode, Time: f.now, Audit: events.Audit{Actor: "api"},
		File: events.FileState{ID: file.id, Mode: file.mode, Purpose: "dispute_evidence", Filename: "evidence.pdf",
			Size: 48_213, ContentType: "application/pdf", Type: "pdf",
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Created: f.now},
	}
	data, err := events.MarshalFile(e)
	if err != nil {
		f.tb.Fatal(err)
	}
	f.publish(events.FileSubject(file.mode, file.id), data, e.ID, events.TypeFileCreated)
	file.written = true
}

// publish stores one event with the headers the event log sets (see
// eventlog's newMsg), without waiting for the acknowledgement.
func (f *filler) publish(subject string, data []byte, id, typ string) {
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Header.Set(events.TypeHeader, typ)
	m.Header.Set(events.SchemaHeader, strconv.Itoa(events.Schema))
	for {
		_, err := f.js.PublishMsgAsync(m)
		if err == nil {
			break
		}
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			f.tb.Fatalf("publish: %v", err)
		}
	}
	f.n++
	f.truth.n++
	f.truth.counts[typ]++
}
