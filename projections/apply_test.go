package projections

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// history makes a stream with every kind of event, in both modes.
func history(tb testing.TB, links int) *stream {
	st := newStream(tb)
	for i := range links {
		mode := events.ModeLive
		if i%3 == 0 {
			mode = events.ModeTest
		}
		id := fmt.Sprintf("link_%03d", i)
		at := base.Add(time.Duration(i/2) * time.Minute)
		var exp *time.Time
		if i%2 == 0 {
			exp = ptr(at.Add(time.Duration(i+1) * time.Minute))
		}
		st.create(mode, id, fmt.Sprintf("file_%d", i%4), at, exp, map[string]string{"n": fmt.Sprint(i)})
		switch i % 5 {
		case 1:
			st.update(mode, id, at, domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: at.Add(time.Hour)})
		case 2:
			if exp != nil {
				st.expire(mode, id)
			}
		case 3:
			st.update(mode, id, at, domain.UpdateLink{Expiry: domain.ExpiryNow, Metadata: domain.MetadataPatch{Clear: true}})
		case 4:
			st.delete(mode, id, at)
		}
	}
	return st
}

func TestStore_Apply(t *testing.T) {
	t.Run("Checkpoint", func(t *testing.T) {
		st := history(t, 40)
		s, _ := openStore(t, Options{})
		applyAll(t, s, st.recs, 7)
		if got, want := s.Checkpoint(), st.seq(); got != want {
			t.Errorf("Checkpoint() = %d, want %d", got, want)
		}
		stats := s.Stats()
		if stats.Checkpoint != st.seq() || stats.Applied != st.seq() || stats.Skipped != 0 || stats.LastError != nil {
			t.Errorf("Stats() = %+v", stats)
		}
		for _, tl := range st.order {
			got, err := s.Get(tl.Mode, tl.ID)
			switch {
			case tl.DeletedAt != nil:
				if domain.ErrorCode(err) != domain.ENOTFOUND {
					t.Errorf("deleted %s: err = %v", tl.ID, err)
				}
			case err != nil:
				t.Errorf("%s: %v", tl.ID, err)
			case !sameLink(got, tl.Link):
				t.Errorf("%s: got %+v, want %+v", tl.ID, got, tl.Link)
			}
		}
	})
	t.Run("Redelivery", func(t *testing.T) {
		st := history(t, 40)
		s, _ := openStore(t, Options{})
		applyAll(t, s, st.recs, 500)
		want := digest(t, s)
		applyAll(t, s, st.recs, 500)     // the whole stream again
		applyAll(t, s, st.recs[10:], 13) // and a tail in other batches
		if got := digest(t, s); got != want {
			t.Error("digest changed after redelivery")
		}
	})
	t.Run("OldVersionAtNewSeq", func(t *testing.T) {
		// The same events stored again at later sequences (a duplicate
		// publish) move the checkpoint but change no link.
		st := history(t, 20)
		s, _ := openStore(t, Options{})
		applyAll(t, s, st.recs, 500)
		before := linksOnly(t, s)
		n := len(st.recs)
		for _, r := range st.recs[:n] {
			st.raw(r.Data)
		}
		applyAll(t, s, st.recs[n:], 500)
		if s.Checkpoint() != st.seq() {
			t.Errorf("Checkpoint() = %d, want %d", s.Checkpoint(), st.seq())
		}
		if after := linksOnly(t, s); after != before {
			t.Error("re-stored events changed the read model")
		}
	})
	t.Run("Restart", func(t *testing.T) {
		st := history(t, 60)
		all, _ := openStore(t, Options{})
		applyAll(t, all, st.recs, 500)

		s, path := openStore(t, Options{})
		half := len(st.recs) / 2
		applyAll(t, s, st.recs[:half], 11)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := s.Checkpoint(); got != uint64(half) {
			t.Fatalf("Checkpoint() after reopen = %d, want %d", got, half)
		}
		applyAll(t, s, st.recs[s.Checkpoint():], 500)
		if digest(t, s) != digest(t, all) {
			t.Error("digest after restart differs from one-go apply")
		}
	})
	t.Run("Rebuild", func(t *testing.T) {
		st := history(t, 80)
		live, _ := openStore(t, Options{})
		for i, n := 0, 1; i < len(st.recs); i, n = i+n, n%9+1 {
			applyAll(t, live, st.recs[i:min(i+n, len(st.recs))], n)
		}
		rebuilt, _ := openStore(t, Options{NoSync: true})
		applyAll(t, rebuilt, st.recs, 500)
		if digest(t, live) != digest(t, rebuilt) {
			t.Error("rebuild digest differs from the live store's")
		}
	})
	t.Run("DeleteRemovesIndexEntries", func(t *testing.T) {
		st := history(t, 30)
		for _, tl := range st.order {
			if tl.DeletedAt == nil {
				st.delete(tl.Mode, tl.ID, base.Add(24*time.Hour))
			}
		}
		s, _ := openStore(t, Options{})
		applyAll(t, s, st.recs, 500)
		err := s.db.View(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucketCreated, bucketFile, bucketDeadline} {
				if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
					t.Errorf("bucket %s still holds %q", name, k)
				}
			}
			if n := tx.Bucket(bucketLinks).Stats().KeyN; n != len(st.order) {
				t.Errorf("links holds %d tombstones, want %d", n, len(st.order))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SkipMalformed", func(t *testing.T) {
		st := newStream(t)
		st.create(events.ModeLive, "link_a", "file_1", base, nil, nil)
		st.raw([]byte("{not json"))
		st.raw([]byte(`{"schema":1,"id":"evt_x","type":"LinkCreated"}`))
		st.create(events.ModeLive, "link_b", "file_1", base, nil, nil)
		var logs bytes.Buffer
		s, _ := openStore(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		applyAll(t, s, st.recs, 500)
		if s.Checkpoint() != 4 {
			t.Errorf("Checkpoint() = %d, want 4", s.Checkpoint())
		}
		if stats := s.Stats(); stats.Skipped != 2 || stats.Applied != 2 || stats.LastError != nil {
			t.Errorf("Stats() = %+v", stats)
		}
		if _, err := s.Get(events.ModeLive, "link_b"); err != nil {
			t.Errorf("event after the malformed ones: %v", err)
		}
		for _, seq := range []string{"seq=2", "seq=3"} {
			if !strings.Contains(logs.String(), seq) || !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("log lacks an error for %s:\n%s", seq, logs.String())
			}
		}
		err := s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSkipped)
			for _, seq := range []uint64{2, 3} {
				if v := b.Get(seqKey(seq)); !strings.Contains(string(v), "malformed") {
					t.Errorf("skipped[%d] = %q", seq, v)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("StopUnsupported", func(t *testing.T) {
		st := newStream(t)
		st.create(events.ModeLive, "link_a", "file_1", base, nil, nil)
		st.create(events.ModeLive, "link_b", "file_1", base, nil, nil)
		st.raw(rewrite(t, st.recs[1].Data, "schema", events.Schema+1))
		st.create(events.ModeLive, "link_c", "file_1", base, nil, nil)
		st.raw(rewrite(t, st.recs[0].Data, "type", "LinkRenamed"))
		s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})

		for range 2 { // a retry fails the same way
			err := s.Apply(st.recs)
			if !errors.Is(err, ErrStopped) || !errors.Is(err, events.ErrUnsupported) || !strings.Contains(err.Error(), "seq 3") {
				t.Fatalf("err = %v, want ErrStopped wrapping ErrUnsupported at seq 3", err)
			}
			if s.Checkpoint() != 2 {
				t.Errorf("Checkpoint() = %d, want 2", s.Checkpoint())
			}
			if !errors.Is(s.Stats().LastError, ErrStopped) {
				t.Errorf("Stats().LastError = %v", s.Stats().LastError)
			}
		}
		if _, err := s.Get(events.ModeLive, "link_b"); err != nil {
			t.Errorf("event before the stop was not committed: %v", err)
		}
		if _, err := s.Get(events.ModeLive, "link_c"); err == nil {
			t.Error("event after the stop was applied")
		}
		// After an upgrade (here: skipping the record by hand) the next
		// unreadable type stops again.
		if err := s.Apply(st.recs[3:]); !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "seq 5") {
			t.Errorf("err = %v, want ErrStopped at seq 5", err)
		}
		if s.Checkpoint() != 4 {
			t.Errorf("Checkpoint() = %d, want 4", s.Checkpoint())
		}
	})
	t.Run("FileAndOtherSubjects", func(t *testing.T) {
		st := newStream(t)
		st.file(events.ModeLive, "file_1", "dispute_evidence", base)
		st.create(events.ModeLive, "link_a", "file_1", base, nil, nil)
		st.add("filelinks.future.live.x", []byte("{not even json"))
		s, _ := openStore(t, Options{})
		applyAll(t, s, st.recs, 500)
		if s.Checkpoint() != 3 {
			t.Errorf("Checkpoint() = %d, want 3", s.Checkpoint())
		}
		if stats := s.Stats(); stats.Skipped != 0 || stats.Applied != 2 {
			t.Errorf("Stats() = %+v", stats)
		}
		if _, err := s.Get(events.ModeLive, "link_a"); err != nil {
			t.Error(err)
		}
		if _, err := s.GetFile(events.ModeLive, "file_1"); err != nil {
			t.Error(err)
		}
	})
	t.Run("OutOfOrderInBatch", func(t *testing.T) {
		st := history(t, 10)
		s, _ := openStore(t, Options{})
		recs := append([]events.Record{}, st.recs...)
		recs = append(recs[:5:5], append([]events.Record{recs[2]}, recs[5:]...)...)
		applyAll(t, s, recs, 500)
		ref, _ := openStore(t, Options{})
		applyAll(t, ref, st.recs, 500)
		if digest(t, s) != digest(t, ref) {
			t.Error("a repeated record inside a batch changed the result")
		}
	})
}

// linksOnly dumps the links and their indexes, not the checkpoint.
func linksOnly(t *testing.T, s *Store) string {
	t.Helper()
	return dump(t, s, bucketLinks, bucketCreated, bucketFile, bucketDeadline)
}

// dump returns every key and value of the buckets.
func dump(t *testing.T, s *Store, names ...[]byte) string {
	t.Helper()
	var b strings.Builder
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range names {
			_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %x %x\n", name, k, v)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// rewrite returns the event data with one envelope field replaced.
func rewrite(t *testing.T, data []byte, field string, value any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m[field] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
