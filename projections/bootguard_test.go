package projections

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestStore_SyncOnBootChange: a file left open by an earlier boot is
// discarded (its unsynced commits may be torn); one closed cleanly, or left
// open in this boot (a process crash), is kept.
func TestStore_SyncOnBootChange(t *testing.T) {
	st := history(t, 20)
	seed := func(t *testing.T, openBoot string, clean byte) string {
		path := filepath.Join(t.TempDir(), "rm.db")
		s, err := Open(path, Options{SyncOnBootChange: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Apply(st.recs); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(keyOpenBoot, []byte(openBoot)); err != nil {
				return err
			}
			return meta.Put(keyClean, []byte{clean})
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		return path
	}
	for _, tc := range []struct {
		name     string
		boot     string
		clean    byte
		keepData bool
	}{
		{"OtherBootUnclean", "another-boot", 0, false},
		{"OtherBootClean", "another-boot", 1, true},
		{"ThisBootUnclean", bootID(), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bootID() == "" {
				t.Skip("no boot id on this system")
			}
			path := seed(t, tc.boot, tc.clean)
			s, err := Open(path, Options{SyncOnBootChange: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := uint64(0)
			if tc.keepData {
				want = st.recs[len(st.recs)-1].Seq
			}
			if got := s.Checkpoint(); got != want {
				t.Fatalf("checkpoint %d, want %d", got, want)
			}
		})
	}
}
