package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// rebuildAll rebuilds s from recs, given in batches of n, holding at most
// memory bytes and inserting 7 index entries per transaction (0: the
// defaults), and finishes.
func rebuildAll(tb testing.TB, s *Store, recs []events.Record, n, memory int) error {
	tb.Helper()
	r, err := s.Rebuild()
	if err != nil {
		tb.Fatal(err)
	}
	if memory > 0 {
		r.memory, r.batch = memory, 7
	}
	for len(recs) > 0 {
		k := min(n, len(recs))
		if err := r.Apply(recs[:k]); err != nil {
			if !errors.Is(err, ErrStopped) {
				tb.Fatalf("rebuild apply seq %d..%d: %v", recs[0].Seq, recs[k-1].Seq, err)
			}
			break
		}
		recs = recs[k:]
	}
	return r.Finish()
}

// messy is a history with everything Apply must handle: files, malformed
// records, records on other subjects, redelivered and re-stored events.
func messy(tb testing.TB) *stream {
	st := history(tb, 120)
	st.file(events.ModeLive, "file_1", "dispute_evidence", base)
	st.raw([]byte("{not json"))
	st.add("filelinks.future.live.x", []byte("{not even json"))
	for _, r := range st.recs[10:30] { // re-stored events: old versions at new sequences
		st.add(r.Subject, r.Data)
	}
	// Events that only encoding/json reads (escaped strings) and events
	// with non-ASCII text, which the fast parser reads.
	st.create(events.ModeLive, "link_q1", "file_1", base, nil, map[string]string{"q": `say "hi" <b>`})
	st.update(events.ModeLive, "link_q1", base.Add(time.Minute), domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"ü": "ẞ"}}})
	st.create(events.ModeTest, "link_u1", "file_2", base, ptr(base.Add(time.Hour)), map[string]string{"ü": "ẞ", "a": "b"})
	for _, tl := range st.order[:40] {
		if tl.Exists() && !tl.Expired(base.Add(time.Hour)) {
			st.update(tl.Mode, tl.ID, base.Add(time.Hour), domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"late": "1"}}})
		}
	}
	return st
}

// randomIDs is a stream of links with random ids, in the old format: a new
// link's key is not after those already written.
func randomIDs(tb testing.TB) *stream {
	r := rand.New(rand.NewPCG(9, 9))
	st := newStream(tb)
	var ids []string
	for i := range 300 {
		at := base.Add(time.Duration(i) * time.Second)
		id := randID(r, "link_")
		ids = append(ids, id)
		st.create(events.ModeLive, id, fmt.Sprint("file_", i%7), at, ptr(at.Add(time.Hour)), map[string]string{"n": fmt.Sprint(i)})
		if i%3 == 0 {
			old := ids[r.IntN(len(ids))]
			if tl := st.get(events.ModeLive, old); tl.Exists() {
				st.update(events.ModeLive, old, at, domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"u": fmt.Sprint(i)}}})
			}
		}
		if i%11 == 0 {
			if tl := st.get(events.ModeLive, ids[i/2]); tl.Exists() {
				st.delete(events.ModeLive, ids[i/2], at)
			}
		}
	}
	return st
}

func TestRebuild(t *testing.T) {
	t.Run("Messy", func(t *testing.T) { testRebuild(t, messy(t), 1) })
	t.Run("RandomIDs", func(t *testing.T) { testRebuild(t, randomIDs(t), 0) })
}

// testRebuild checks that rebuilding st, in several ways, gives what Apply
// gives; skipped is the number of malformed records in st.
func testRebuild(t *testing.T, st *stream, skipped uint64) {
	// Events with an escaped string are read by encoding/json
	// (events.DecodeLinkView's fallback), the others by the fast parser:
	// both must give the same records.
	var escaped, plain int
	for _, r := range st.recs {
		var d decoded
		if decodeInto(&d, r); d.err != nil || d.file != nil || d.other {
			continue
		}
		if bytes.IndexByte(r.Data, '\\') >= 0 {
			escaped++
		} else {
			plain++
		}
	}
	if plain == 0 || escaped == 0 && skipped > 0 {
		t.Fatalf("%d events without escapes, %d with: the test needs both", plain, escaped)
	}
	ref, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
	applyAll(t, ref, st.recs, 7)
	want := digest(t, ref)

	for _, c := range []struct {
		name          string
		batch, memory int
	}{
		{"OneBatch", 10_000, 0},
		{"SmallBatches", 3, 0},
		{"ManyFlushes", 5, 2_000}, // writes links and index entries in many rounds and transactions
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
			if err := rebuildAll(t, s, st.recs, c.batch, c.memory); err != nil {
				t.Fatal(err)
			}
			if got := digest(t, s); got != want {
				t.Errorf("digest after rebuild differs from Apply's\n%s", diffDumps(dumpAll(t, ref), dumpAll(t, s)))
			}
			if s.Checkpoint() != st.seq() {
				t.Errorf("Checkpoint() = %d, want %d", s.Checkpoint(), st.seq())
			}
			if stats := s.Stats(); stats.Skipped != skipped || stats.Applied != ref.Stats().Applied {
				t.Errorf("Stats() = %+v, Apply's %+v", stats, ref.Stats())
			}
			// The store goes on with Apply: redelivery changes nothing, and
			// new events apply.
			applyAll(t, s, st.recs, 50)
			if got := digest(t, s); got != want {
				t.Error("redelivery after a rebuild changed the read model")
			}
		})
	}
}

// dumpAll returns every bucket's keys and values.
func dumpAll(t *testing.T, s *Store) string {
	t.Helper()
	return dump(t, s, allBuckets...)
}

// diffDumps returns the lines that are in only one of two dumps.
func diffDumps(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	if len(out) > 20 {
		out = out[:20]
	}
	return strings.Join(out, "\n")
}

func TestRebuild_Stop(t *testing.T) {
	st := newStream(t)
	st.create(events.ModeLive, "link_a", "file_1", base, nil, nil)
	st.create(events.ModeLive, "link_b", "file_1", base, nil, nil)
	st.raw(rewrite(t, st.recs[1].Data, "schema", events.Schema+1))
	st.create(events.ModeLive, "link_c", "file_1", base, nil, nil)
	s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
	r, err := s.Rebuild()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a retry fails the same way
		err := r.Apply(st.recs)
		if !errors.Is(err, ErrStopped) || !errors.Is(err, events.ErrUnsupported) || !strings.Contains(err.Error(), "seq 3") {
			t.Fatalf("err = %v, want ErrStopped wrapping ErrUnsupported at seq 3", err)
		}
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	if s.Checkpoint() != 2 {
		t.Errorf("Checkpoint() = %d, want 2", s.Checkpoint())
	}
	if _, err := s.Get(events.ModeLive, "link_b"); err != nil {
		t.Errorf("event before the stop: %v", err)
	}
	if _, err := s.Get(events.ModeLive, "link_c"); err == nil {
		t.Error("event after the stop was applied")
	}
	if err := s.Apply(st.recs); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after the rebuild: err = %v, want ErrStopped", err)
	}
}

// TestRebuild_WriteFails: when the write of a flushed batch fails, its links
// are held nowhere else, so the rebuild must not finish without them: Apply
// and Finish refuse from then on, and the store stays empty.
func TestRebuild_WriteFails(t *testing.T) {
	st := newStream(t)
	for i := range 20 {
		st.create(events.ModeLive, fmt.Sprintf("link_%02d", i), "file_1", base, nil, nil)
	}
	s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
	r, err := s.Rebuild()
	if err != nil {
		t.Fatal(err)
	}
	r.memory, r.batch = 1, 7 // every Apply flushes
	if err := r.Apply(st.recs[:5]); err != nil {
		t.Fatal(err)
	}
	if err := r.waitWrite(); err != nil {
		t.Fatal(err)
	}
	// The write of the batch being flushed fails (as on a full disk); the
	// file itself stays usable.
	failed := &rebuildWrite{links: map[string]*pendingLink{}, done: make(chan error, 1)}
	failed.done <- errors.New("no space left on device")
	r.writing = failed
	for range 2 {
		if err := r.Apply(st.recs[5:]); err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("Apply after a failed write: err = %v", err)
		}
	}
	if err := r.Finish(); err == nil {
		t.Fatal("Finish after a failed write succeeded")
	}
	if s.Checkpoint() != 0 {
		t.Fatalf("Checkpoint() = %d after a failed rebuild, want 0", s.Checkpoint())
	}
	if _, err := s.Get(events.ModeLive, "link_12"); err == nil {
		t.Fatal("a link of the failed rebuild is in the store")
	}
}

// TestRebuild_SharedToken: a token that two links hold (which only a
// forged stream can give) needs no care: tokens are found through the
// link they name, so a rebuild gives what Apply gives, and the token finds
// the link it names.
func TestRebuild_SharedToken(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(st *stream)
	}{
		{"BothLive", func(st *stream) {
			st.create(events.ModeLive, "link_b", "file_1", base, nil, nil)
			st.do(events.ModeLive, "link_d", domain.CreateLink{Mode: events.ModeLive, LinkID: "link_d", Token: testToken(events.ModeLive, "link_b"),
				File: domain.File{ID: "file_1", Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"}}, base)
		}},
		{"SecondDeleted", func(st *stream) {
			st.create(events.ModeLive, "link_b", "file_1", base, nil, nil)
			st.do(events.ModeLive, "link_d", domain.CreateLink{Mode: events.ModeLive, LinkID: "link_d", Token: testToken(events.ModeLive, "link_b"),
				File: domain.File{ID: "file_1", Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"}}, base)
			st.delete(events.ModeLive, "link_d", base)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newStream(t)
			c.build(st)
			ref, _ := openStore(t, Options{})
			applyAll(t, ref, st.recs, 1)
			for _, memory := range []int{0, 1} { // in one round, and a link per round
				s, _ := openStore(t, Options{})
				if err := rebuildAll(t, s, st.recs, 500, memory); err != nil {
					t.Fatalf("Finish with memory %d: %v", memory, err)
				}
				if digest(t, s) != digest(t, ref) {
					t.Errorf("rebuild with memory %d differs from Apply", memory)
				}
				if l, err := s.GetByToken(testToken(events.ModeLive, "link_b")); err != nil || l.ID != "link_b" {
					t.Errorf("GetByToken: %s, %v; want link_b", l.ID, err)
				}
			}
		})
	}
}

func TestRebuild_Store(t *testing.T) {
	st := history(t, 20)

	t.Run("QueriesAndWaitFor", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		r, err := s.Rebuild()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Apply(st.recs); err != nil {
			t.Fatal(err)
		}
		// Until Finish, the store's own (empty) file answers.
		if _, err := s.Get(st.order[1].Mode, st.order[1].ID); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("Get during the rebuild: err = %v, want not found", err)
		}
		waited := make(chan error, 1)
		go func() { waited <- s.WaitFor(context.Background(), st.seq()) }()
		<-s.Hurry() // waiting, on the store's own file
		if err := r.Finish(); err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(st.order[1].Mode, st.order[1].ID); err != nil {
			t.Errorf("Get after the rebuild: %v", err)
		}
	})

	t.Run("NotEmpty", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		applyAll(t, s, st.recs[:3], 500)
		if _, err := s.Rebuild(); err == nil {
			t.Fatal("Rebuild of a store with a checkpoint succeeded")
		}
	})

	t.Run("AppliedMeanwhile", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		r, err := s.Rebuild()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Apply(st.recs); err != nil {
			t.Fatal(err)
		}
		applyAll(t, s, st.recs[:3], 500)
		if err := r.Finish(); err == nil {
			t.Fatal("Finish over a store applied to meanwhile succeeded")
		}
		if s.Checkpoint() != 3 {
			t.Errorf("Checkpoint() = %d, want the store's own 3", s.Checkpoint())
		}
	})

	t.Run("CrashedRebuild", func(t *testing.T) {
		s, path := openStore(t, Options{})
		if err := os.WriteFile(path+".rebuild", []byte("torn"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := rebuildAll(t, s, st.recs, 500, 0); err != nil {
			t.Fatal(err)
		}
		if s.Checkpoint() != st.seq() {
			t.Errorf("Checkpoint() = %d, want %d", s.Checkpoint(), st.seq())
		}
	})

	t.Run("Abort", func(t *testing.T) {
		s, path := openStore(t, Options{})
		r, err := s.Rebuild()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Apply(st.recs); err != nil {
			t.Fatal(err)
		}
		if err := r.Abort(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path + ".rebuild"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("rebuild file left behind: %v", err)
		}
		if s.Checkpoint() != 0 {
			t.Errorf("Checkpoint() = %d, want 0", s.Checkpoint())
		}
	})

	t.Run("SyncOnBootChange", func(t *testing.T) {
		s, path := openStore(t, Options{SyncOnBootChange: true})
		if err := rebuildAll(t, s, st.recs, 500, 0); err != nil {
			t.Fatal(err)
		}
		want := digest(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{SyncOnBootChange: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Checkpoint() != st.seq() || digest(t, s) != want {
			t.Errorf("reopened rebuilt file: checkpoint %d, digest changed: %v", s.Checkpoint(), digest(t, s) != want)
		}
	})
}
