package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func openLog(t testing.TB) (*eventlog.Log, *natstest.Server) {
	t.Helper()
	srv := natstest.Start(t)
	l, err := eventlog.Open(context.Background(), srv.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return l, srv
}

// decider returns a closure for Log.Update that decides cmd at now.
func decider(cmd domain.Command, now time.Time) func(domain.Link) ([]events.Event, error) {
	return func(state domain.Link) ([]events.Event, error) {
		payloads, err := domain.Decide(state, cmd, now)
		if err != nil || len(payloads) == 0 {
			return nil, err
		}
		ids := make([]string, len(payloads))
		for i := range ids {
			ids[i] = randid.New("evt_")
		}
		evs, _ := domain.Seal(state.ID, state.Mode, state, payloads, now, events.Audit{Actor: "test"}, ids)
		return evs, nil
	}
}

func createCmd(id string) domain.CreateLink {
	return domain.CreateLink{
		Mode: events.ModeTest, LinkID: id, Token: randid.Token(),
		File: domain.File{ID: "file_1", Found: true, Mode: events.ModeTest, Purpose: "dispute_evidence"},
	}
}

func TestLog_Update(t *testing.T) {
	ctx := context.Background()
	l, _ := openLog(t)

	t.Run("OK", func(t *testing.T) {
		id := randid.New("link_")
		change, seq, err := l.Update(ctx, events.ModeTest, id, decider(createCmd(id), t0))
		if err != nil {
			t.Fatal(err)
		}
		link := change.After()
		if link.Version != 1 || link.FileID != "file_1" || seq == 0 {
			t.Fatalf("created %+v at seq %d", link, seq)
		}
		// The change names the state it was decided on and what it appended.
		if b := change.Before; b.Version != 0 || b.ID != id || b.Mode != events.ModeTest ||
			len(change.Events) != 1 || change.Events[0].Type != events.TypeLinkCreated {
			t.Fatalf("change: before %+v, events %+v", b, change.Events)
		}
		got, gotSeq, err := l.Load(ctx, events.ModeTest, id)
		if err != nil {
			t.Fatal(err)
		}
		if gotSeq != seq || got.Version != 1 || got.Token != link.Token {
			t.Fatalf("load = %+v at %d, want version 1 at %d", got, gotSeq, seq)
		}
		// The other mode has no such link.
		other, otherSeq, err := l.Load(ctx, events.ModeLive, id)
		if err != nil || other.Version != 0 || otherSeq != 0 || other.ID != id || other.Mode != events.ModeLive {
			t.Fatalf("live load = %+v, %d, %v", other, otherSeq, err)
		}
	})

	t.Run("CreateExisting", func(t *testing.T) {
		id := randid.New("link_")
		if _, _, err := l.Create(ctx, events.ModeTest, id, decider(createCmd(id), t0)); err != nil {
			t.Fatal(err)
		}
		// Create assumes a new id; on an existing one it must fall back to
		// a real load and let the domain refuse.
		_, _, err := l.Create(ctx, events.ModeTest, id, decider(createCmd(id), t0))
		if e := domain.AsError(err); e == nil || e.Reason != domain.ReasonLinkExists {
			t.Fatalf("second create: err = %v, want %s", err, domain.ReasonLinkExists)
		}
	})

	t.Run("ErrDecide", func(t *testing.T) {
		id := randid.New("link_")
		_, _, err := l.Update(ctx, events.ModeTest, id, decider(domain.DeleteLink{}, t0))
		if domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("err = %v, want not found", err)
		}
	})

	t.Run("NoEvents", func(t *testing.T) {
		id := randid.New("link_")
		_, seq, err := l.Update(ctx, events.ModeTest, id, decider(createCmd(id), t0))
		if err != nil {
			t.Fatal(err)
		}
		change, seq2, err := l.Update(ctx, events.ModeTest, id, decider(domain.UpdateLink{}, t0))
		if err != nil || seq2 != seq {
			t.Fatalf("empty update: seq %d -> %d, err %v", seq, seq2, err)
		}
		if len(change.Events) != 0 || change.Before.Version != 1 || change.After().Version != 1 {
			t.Fatalf("empty update: %+v", change)
		}
	})

	t.Run("First", func(t *testing.T) {
		id := randid.New("link_")
		if _, _, ok, err := l.First(ctx, events.ModeTest, id); ok || err != nil {
			t.Fatalf("First of a link with no events: ok %v, err %v", ok, err)
		}
		change, seq, err := l.Create(ctx, events.ModeTest, id, decider(createCmd(id), t0))
		if err != nil {
			t.Fatal(err)
		}
		created := change.After()
		// A second link's events in between, and an update of the first.
		other := randid.New("link_")
		if _, _, err := l.Create(ctx, events.ModeTest, other, decider(createCmd(other), t0)); err != nil {
			t.Fatal(err)
		}
		upd := domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"k": "v"}}}
		if _, _, err := l.Update(ctx, events.ModeTest, id, decider(upd, t0)); err != nil {
			t.Fatal(err)
		}
		e, firstSeq, ok, err := l.First(ctx, events.ModeTest, id)
		if err != nil || !ok || firstSeq != seq || e.Type != events.TypeLinkCreated || e.Link.Version != 1 || e.Link.Token != created.Token {
			t.Fatalf("First = %s v%d at %d (ok %v, err %v), want LinkCreated v1 at %d", e.Type, e.Link.Version, firstSeq, ok, err, seq)
		}
		if _, _, ok, err := l.First(ctx, events.ModeLive, id); ok || err != nil {
			t.Fatalf("First in the other mode: ok %v, err %v", ok, err)
		}
	})

	t.Run("AtomicBatch", func(t *testing.T) {
		id := randid.New("link_")
		if _, _, err := l.Update(ctx, events.ModeTest, id, decider(createCmd(id), t0)); err != nil {
			t.Fatal(err)
		}
		upd := domain.UpdateLink{Expiry: domain.ExpiryNow, Metadata: domain.MetadataPatch{Set: map[string]string{"k": "v"}}}
		change, _, err := l.Update(ctx, events.ModeTest, id, decider(upd, t0))
		if err != nil {
			t.Fatal(err)
		}
		if link := change.After(); len(change.Events) != 2 || link.Version != 3 || link.ExpiredAt == nil || link.Metadata["k"] != "v" {
			t.Fatalf("after update+expire: %+v", link)
		}
		hist, err := l.History(ctx, events.ModeTest, id)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range hist {
			types = append(types, e.Type)
		}
		if fmt.Sprint(types) != "[LinkCreated LinkUpdated LinkExpired]" {
			t.Fatalf("history types = %v", types)
		}
	})
}

func TestLog_Append(t *testing.T) {
	ctx := context.Background()
	l, srv := openLog(t)

	t.Run("ErrConflict", func(t *testing.T) {
		id := randid.New("link_")
		evs, err := decider(createCmd(id), t0)(domain.Link{ID: id, Mode: events.ModeTest})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, 0, evs); err != nil {
			t.Fatal(err)
		}
		// A different create for the same id, also expecting an empty subject.
		again, _ := decider(createCmd(id), t0)(domain.Link{ID: id, Mode: events.ModeTest})
		if _, err := l.Append(ctx, 0, again); !errors.Is(err, eventlog.ErrConflict) {
			t.Fatalf("second create: err = %v, want ErrConflict", err)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		id := randid.New("link_")
		evs, _ := decider(createCmd(id), t0)(domain.Link{ID: id, Mode: events.ModeTest})
		seq1, err := l.Append(ctx, 0, evs)
		if err != nil {
			t.Fatal(err)
		}
		// The same events again, as after a lost ack: stored once, same sequence.
		seq2, err := l.Append(ctx, 0, evs)
		if err != nil || seq2 != seq1 {
			t.Fatalf("retried append: seq %d, err %v; want %d, nil", seq2, err, seq1)
		}
		st, err := srv.JS.Stream(ctx, "FILELINKS_EVENTS")
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(events.LinkFilter(events.ModeTest, id)))
		if err != nil {
			t.Fatal(err)
		}
		n := uint64(0)
		for _, c := range info.State.Subjects {
			n += c
		}
		if n != 1 {
			t.Fatalf("the link's subjects hold %d messages (%v), want 1", n, info.State.Subjects)
		}
	})

	t.Run("DenyDelete", func(t *testing.T) {
		st, err := srv.JS.Stream(ctx, "FILELINKS_EVENTS")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteMsg(ctx, 1); err == nil {
			t.Fatal("deleting an event succeeded")
		}
		if err := st.Purge(ctx); err == nil {
			t.Fatal("purging the event stream succeeded")
		}
	})
}

// TestLog_ConcurrentUpdates races writers on one link: every update must be
// applied exactly once and each on the state its predecessor left.
func TestLog_ConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	l, _ := openLog(t)
	id := randid.New("link_")
	if _, _, err := l.Update(ctx, events.ModeTest, id, decider(createCmd(id), t0)); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conflicts int
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("w%d_%d", w, i)
				cmd := domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{key: "x"}}}
				_, _, err := l.Update(ctx, events.ModeTest, id, decider(cmd, t0))
				if domain.ErrorCode(err) == domain.ECONFLICT {
					mu.Lock()
					conflicts++
					mu.Unlock()
					continue
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()

	hist, err := l.History(ctx, events.ModeTest, id)
	if err != nil {
		t.Fatal(err)
	}
	applied := len(hist) - 1
	if applied+conflicts != writers*each {
		t.Fatalf("%d applied + %d refused with 409 != %d updates", applied, conflicts, writers*each)
	}
	// Each event must be numbered after its predecessor and carry all keys
	// set before it: no update was decided on stale state.
	state := domain.Link{}
	for i, e := range hist {
		if e.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
		state = domain.Evolve(state, e)
		if len(e.Link.Metadata) != len(state.Metadata) || len(e.Link.Metadata) != i {
			t.Fatalf("event %d: snapshot has %d keys, fold has %d, want %d", i, len(e.Link.Metadata), len(state.Metadata), i)
		}
	}
	t.Logf("%d updates applied, %d gave up after retries", applied, conflicts)
}

func TestLog_Follow(t *testing.T) {
	l, _ := openLog(t)
	ctx := context.Background()
	const n = 1200
	for i := 0; i < n; i++ {
		id := randid.New("link_")
		if _, _, err := l.Update(ctx, events.ModeTest, id, decider(createCmd(id), t0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range []uint64{0, 1, 700} {
		t.Run(fmt.Sprintf("From%d", from), func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var got []uint64
			var batches int
			err := l.Follow(ctx, from, func(recs []events.Record) error {
				batches++
				if len(recs) > eventlog.MaxBatch {
					t.Errorf("batch of %d", len(recs))
				}
				for _, r := range recs {
					if _, err := events.UnmarshalEnvelope(r.Data); err != nil {
						t.Errorf("seq %d: %v", r.Seq, err)
					}
					got = append(got, r.Seq)
				}
				if got[len(got)-1] == n {
					cancel()
				}
				return nil
			}, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := max(from, 1)
			if uint64(len(got)) != n-start+1 || got[0] != start {
				t.Fatalf("got %d records from %d, want %d from %d", len(got), got[0], n-start+1, start)
			}
			for i := 1; i < len(got); i++ {
				if got[i] != got[i-1]+1 {
					t.Fatalf("gap or disorder at %d: %d after %d", i, got[i], got[i-1])
				}
			}
			if want := (len(got) + eventlog.MaxBatch - 1) / eventlog.MaxBatch; batches < want {
				t.Fatalf("%d batches for %d records: not batched by MaxBatch", batches, len(got))
			}
		})
	}

	t.Run("ApplyError", func(t *testing.T) {
		boom := errors.New("boom")
		err := l.Follow(ctx, 0, func([]events.Record) error { return boom }, 0, nil)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
}

// With a linger, events written one by one are held in one batch until a
// reader hurries it; the linger here is far longer than the test.
func TestLog_FollowLinger(t *testing.T) {
	l, _ := openLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	hurry := make(chan struct{}, 1)
	batches := make(chan []uint64, 8)
	done := make(chan error, 1)
	go func() {
		done <- l.Follow(ctx, 0, func(recs []events.Record) error {
			seqs := make([]uint64, len(recs))
			for i, r := range recs {
				seqs[i] = r.Seq
			}
			batches <- seqs
			return nil
		}, time.Hour, hurry)
	}()
	appendN := func(n int) {
		for range n {
			id := randid.New("link_")
			if _, _, err := l.Update(ctx, events.ModeTest, id, decider(createCmd(id), t0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantSeqs := func(got []uint64, from uint64, n int) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("got %d events, want %d from %d", len(got), n, from)
		}
		for i, s := range got {
			if s != from+uint64(i) {
				t.Fatalf("batches %v, want %d events from %d", got, n, from)
			}
		}
	}
	// The linger is an hour and nobody hurries: the only way a batch is
	// applied is a full one. Of MaxBatch+1 events, the first MaxBatch
	// arrive as exactly one batch, and the last lingers.
	appendN(eventlog.MaxBatch + 1)
	select {
	case b := <-batches:
		wantSeqs(b, 1, eventlog.MaxBatch)
	case <-time.After(10 * time.Second):
		t.Fatal("no batch 10s after a full batch was appended")
	}
	// A hurry applies a lingering batch at once. The consumer delivers
	// asynchronously, so a hurry may find only some of the events: hurry
	// until every one was applied.
	const n = 3
	appendN(n - 1)
	var got []uint64
	for len(got) < n {
		select {
		case hurry <- struct{}{}:
		default:
		}
		select {
		case b := <-batches:
			got = append(got, b...)
		case <-time.After(10 * time.Second):
			t.Fatalf("no batch 10s after a hurry (got %v)", got)
		}
	}
	wantSeqs(got, eventlog.MaxBatch+1, n)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
