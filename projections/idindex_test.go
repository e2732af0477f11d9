package projections

import (
	"log/slog"
	"testing"

	"github.com/filelinks/filelinks/domain"
)

// checkLinks checks that s finds every link of st by id, by token and as a
// list cursor, and finds no deleted one.
func checkLinks(t *testing.T, s *Store, st *stream) {
	t.Helper()
	for _, tl := range st.order {
		got, err := s.Get(tl.Mode, tl.ID)
		if tl.DeletedAt != nil {
			if domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Errorf("deleted %s: err = %v, want not found", tl.ID, err)
			}
			continue
		}
		if err != nil || !sameLink(got, tl.Link) {
			t.Errorf("Get %s = %+v, %v; want %+v", tl.ID, got, err, tl.Link)
			continue
		}
		if got, err := s.GetByToken(tl.Token); err != nil || got.ID != tl.ID {
			t.Errorf("GetByToken of %s = %s, %v", tl.ID, got.ID, err)
		}
		p, err := s.List(domain.ListQuery{Mode: tl.Mode, IDs: []string{tl.ID}, Limit: 5})
		if err != nil || len(p.Links) != 1 || p.Links[0].ID != tl.ID {
			t.Errorf("List ids=[%s] = %+v, %v", tl.ID, p.Links, err)
		}
		// A cursor is found by id too: the page after it starts below it.
		want, _, _ := expect(st, domain.ListQuery{Mode: tl.Mode, StartingAfter: tl.ID, Limit: 1})
		p, err = s.List(domain.ListQuery{Mode: tl.Mode, StartingAfter: tl.ID, Limit: 1})
		if err != nil || len(p.Links) != len(want) || len(want) == 1 && p.Links[0].ID != want[0] {
			t.Errorf("List starting_after=%s = %+v, %v; want %v", tl.ID, p.Links, err, want)
		}
	}
}

func TestIDIndex(t *testing.T) {
	// Every query and write finds links by id through the index, so these
	// run once with real hashes and once with four hash values for all
	// ids, which makes nearly every lookup meet ids that share its hash.
	for _, c := range []struct {
		name string
		mask uint64
	}{{"Hashes", ^uint64(0)}, {"SharedHashes", 3}} {
		t.Run(c.name, func(t *testing.T) {
			defer func(m uint64) { idHashMask = m }(idHashMask)
			idHashMask = c.mask
			st := messy(t)

			t.Run("Apply", func(t *testing.T) {
				s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
				applyAll(t, s, st.recs, 7)
				checkLinks(t, s, st)
				if n := s.ids.len(); n != len(st.order) {
					t.Errorf("index holds %d links, the stream made %d", n, len(st.order))
				}
			})
			t.Run("Reopen", func(t *testing.T) {
				// The index of a reopened file is built from its records;
				// the events after the restart update links made before.
				all, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
				applyAll(t, all, st.recs, 500)
				s, path := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
				half := len(st.recs) / 2
				applyAll(t, s, st.recs[:half], 11)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				s, err := Open(path, Options{Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				applyAll(t, s, st.recs[half:], 11)
				if digest(t, s) != digest(t, all) {
					t.Errorf("digest after a restart differs from one-go apply\n%s", diffDumps(dumpAll(t, all), dumpAll(t, s)))
				}
				checkLinks(t, s, st)
			})
			t.Run("Rebuild", func(t *testing.T) {
				// Also applies the stream again after the rebuild, which
				// changes nothing only if every link is found.
				testRebuild(t, st, 1)
				s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
				if err := rebuildAll(t, s, st.recs, 5, 2_000); err != nil {
					t.Fatal(err)
				}
				checkLinks(t, s, st)
			})
		})
	}
}
