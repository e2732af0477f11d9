package projections

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// indexBuckets are the buckets of the index slots.
var indexBuckets = [numIndexes][]byte{
	idxCreated:  bucketCreated,
	idxFile:     bucketFile,
	idxDeadline: bucketDeadline,
}

// buildIndexes derives every index entry from the records, in rounds of
// about r.memory/2 bytes: it reads the records of a round in key order,
// sorts their entries (an index per goroutine) and inserts them in key
// order.
func (r *Rebuild) buildIndexes() error {
	budget := max(r.memory/2, 1) // at least one link per round
	var runs [numIndexes]indexRun
	for i := range runs {
		// Enough for every entry of a typical link in one round.
		runs[i].buf = make([]byte, 0, min(budget/2, r.nlinks*96))
		runs[i].refs = make([]entryRef, 0, min(budget/64, r.nlinks))
	}
	var scratch arena
	var from []byte // the first link key of the next round; nil: done
	for {
		for i := range runs {
			runs[i].reset()
		}
		var next []byte
		err := r.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketLinks).Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			held := 0
			for ; k != nil; k, v = c.Next() {
				if held >= budget {
					next = append([]byte(nil), k...)
					return nil
				}
				scratch.reset()
				set, err := entriesOfRecord(&scratch, k, v)
				if err != nil {
					return err
				}
				for i := range set.n {
					e := &set.e[i]
					held += runs[e.index].add(e.key, e.val)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("projections: rebuild: indexes: %w", err)
		}
		var wg sync.WaitGroup
		for i := range runs {
			wg.Go(runs[i].sort)
		}
		wg.Wait()
		for i := range runs {
			if err := r.insert(i, &runs[i]); err != nil {
				return fmt.Errorf("projections: rebuild: indexes: %w", err)
			}
		}
		if next == nil {
			break
		}
		from = next
	}
	return nil
}

// insertBatch is how many sorted entries buildIndexes inserts per
// transaction (Rebuild.batch). bbolt holds every key a transaction inserts into a page in
// one growing node until the commit; smaller transactions keep those
// nodes, and their reallocation, small, and since the entries are sorted,
// each transaction touches the pages after the previous one's.
const insertBatch = 1 << 12

// insert inserts the sorted entries of run into index i.
func (r *Rebuild) insert(i int, run *indexRun) error {
	for start := 0; start < len(run.refs); start += r.batch {
		refs := run.refs[start:min(start+r.batch, len(run.refs))]
		err := r.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(indexBuckets[i])
			b.FillPercent = rebuildFill
			for _, e := range refs {
				if err := b.Put(run.key(e), run.val(e)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// indexRun holds the entries of one index collected in a round: keys and
// values in buf, located by refs. Neither holds a pointer, so the garbage
// collector does not scan them, and each is one allocation.
type indexRun struct {
	buf  []byte
	refs []entryRef
}

// entryRef locates an entry in indexRun.buf: the key at off, the value
// right after it. Keys and values are shorter than 64 KiB (see
// maxKeyPart).
type entryRef struct {
	off        uint32
	klen, vlen uint16
}

// add appends an entry and returns the bytes it takes.
func (run *indexRun) add(key, val []byte) int {
	run.refs = append(run.refs, entryRef{off: uint32(len(run.buf)), klen: uint16(len(key)), vlen: uint16(len(val))})
	run.buf = append(append(run.buf, key...), val...)
	return len(key) + len(val) + 8
}

func (run *indexRun) key(e entryRef) []byte {
	return run.buf[e.off : e.off+uint32(e.klen) : e.off+uint32(e.klen)]
}

func (run *indexRun) val(e entryRef) []byte {
	start := e.off + uint32(e.klen)
	return run.buf[start : start+uint32(e.vlen) : start+uint32(e.vlen)]
}

func (run *indexRun) sort() {
	slices.SortFunc(run.refs, func(a, b entryRef) int { return bytes.Compare(run.key(a), run.key(b)) })
}

// reset empties the run for the next round. bbolt references the keys and
// values passed to Put only until the transaction ends, so the memory is
// free again once a round is committed.
func (run *indexRun) reset() {
	run.buf, run.refs = run.buf[:0], run.refs[:0]
}
