package projections

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// flush hands what the rebuild holds (links in key order, files, skips and
// the checkpoint) to a goroutine that writes it, once the previous write
// has ended, and starts afresh: the next events are folded while the disk
// write runs, on the other core. Until that write commits, its links are
// found in r.writing.links rather than in the file.
func (r *Rebuild) flush() error {
	if err := r.waitWrite(); err != nil {
		return err
	}
	dirty := make([]*pendingLink, 0, len(r.links))
	for ik, p := range r.links {
		if !p.written {
			dirty = append(dirty, p)
		}
		if !p.indexed {
			r.index.add(ik[0], r.index.hashString(ik[1:]), readUint(p.key[1:]))
		}
	}
	slices.SortFunc(dirty, func(a, b *pendingLink) int { return bytes.Compare(a.key, b.key) })
	w := &rebuildWrite{links: r.links, done: make(chan error, 1)}
	files, skips, last := r.files, r.skips, r.last
	go func() {
		w.done <- r.db.Update(func(tx *bolt.Tx) error {
			links := tx.Bucket(bucketLinks)
			links.FillPercent = rebuildFill
			for _, p := range dirty {
				if err := links.Put(p.key, p.rec); err != nil {
					return err
				}
			}
			for i := range files {
				f := &files[i]
				if err := applyFile(tx, f.seq, &f.file); err != nil {
					return fmt.Errorf("seq %d: %w", f.seq, err)
				}
			}
			skipped := tx.Bucket(bucketSkipped)
			for _, sk := range skips {
				if err := skipped.Put(seqKey(sk.seq), []byte(sk.err.Error())); err != nil {
					return err
				}
			}
			if last == 0 {
				return nil
			}
			return tx.Bucket(bucketMeta).Put(keyCheckpoint, seqKey(last))
		})
	}()
	r.writing = w
	// The records stay in the old arena, which the write goroutine keeps
	// alive until it is done.
	r.links, r.arena, r.files, r.skips, r.held = map[string]*pendingLink{}, arena{}, nil, nil, 0
	return nil
}

// rebuildWrite is a flush being written.
type rebuildWrite struct {
	links map[string]*pendingLink // what it writes (and links it had read), by idKey
	done  chan error              // gets the result of the write
}

// waitWrite waits for the flush being written, if any, and returns its
// error.
func (r *Rebuild) waitWrite() error {
	w := r.writing
	if w == nil {
		return nil
	}
	err := <-w.done
	r.writing = nil
	if err != nil {
		// Its links are no longer held anywhere: the rebuild cannot
		// finish, only be aborted.
		r.failed = fmt.Errorf("projections: rebuild: write: %w", err)
		return r.failed
	}
	return nil
}
