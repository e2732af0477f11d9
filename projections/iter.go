package projections

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// An iter yields list candidates in order key order, newest first when the
// list walks down (desc) and oldest first when it walks up.
type iter interface {
	next() (entry, bool)
	err() error
}

// rangeIter walks one index prefix (one mode and class, or one file of a
// mode and class) between the order keys lo (inclusive) and hi (exclusive);
// nil bounds are open.
type rangeIter struct {
	c       *bolt.Cursor
	prefix  []byte
	lo, hi  []byte
	desc    bool
	started bool
	e       error
}

func newRangeIter(b *bolt.Bucket, prefix, lo, hi []byte, desc bool) *rangeIter {
	return &rangeIter{c: b.Cursor(), prefix: prefix, lo: lo, hi: hi, desc: desc}
}

func (it *rangeIter) next() (entry, bool) {
	if it.e != nil {
		return entry{}, false
	}
	var k, v []byte
	switch {
	case !it.started:
		it.started = true
		k, v = it.first()
	case it.desc:
		k, v = it.c.Prev()
	default:
		k, v = it.c.Next()
	}
	if k == nil || !bytes.HasPrefix(k, it.prefix) {
		return entry{}, false
	}
	ok := k[len(it.prefix):]
	if len(ok) != okLen {
		it.e = fmt.Errorf("%w: index key %q", errCorrupt, k)
		return entry{}, false
	}
	if it.desc && it.lo != nil && bytes.Compare(ok, it.lo) < 0 ||
		!it.desc && it.hi != nil && bytes.Compare(ok, it.hi) >= 0 {
		return entry{}, false
	}
	if len(v) == 0 {
		it.e = fmt.Errorf("%w: index value of %q", errCorrupt, k)
		return entry{}, false
	}
	return entry{ok: ok, id: v}, true
}

// first positions the cursor on the first key of the walk.
func (it *rangeIter) first() ([]byte, []byte) {
	if !it.desc {
		return it.c.Seek(concat(it.prefix, it.lo))
	}
	end := prefixEnd(it.prefix)
	if it.hi != nil {
		end = concat(it.prefix, it.hi)
	}
	if end == nil {
		return it.c.Last()
	}
	if k, _ := it.c.Seek(end); k == nil {
		return it.c.Last() // every key is below end
	}
	return it.c.Prev()
}

func (it *rangeIter) err() error { return it.e }

// sliceIter yields entries collected in memory, already sorted.
type sliceIter struct {
	es []entry
}

func (it *sliceIter) next() (entry, bool) {
	if len(it.es) == 0 {
		return entry{}, false
	}
	e := it.es[0]
	it.es = it.es[1:]
	return e, true
}

func (it *sliceIter) err() error { return nil }

// sortedIter sorts es in the walk's direction.
func sortedIter(es []entry, desc bool) *sliceIter {
	slices.SortFunc(es, func(a, b entry) int {
		if desc {
			return bytes.Compare(b.ok, a.ok)
		}
		return bytes.Compare(a.ok, b.ok)
	})
	return &sliceIter{es: es}
}

// mergeIter merges iters that yield disjoint sets in the same direction.
type mergeIter struct {
	its   []iter
	heads []entry
	has   []bool
	desc  bool
	ready bool
}

func newMergeIter(desc bool, its ...iter) *mergeIter {
	return &mergeIter{its: its, heads: make([]entry, len(its)), has: make([]bool, len(its)), desc: desc}
}

func (m *mergeIter) next() (entry, bool) {
	if !m.ready {
		m.ready = true
		for i, it := range m.its {
			m.heads[i], m.has[i] = it.next()
		}
	}
	best := -1
	for i := range m.its {
		if !m.has[i] {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		c := bytes.Compare(m.heads[i].ok, m.heads[best].ok)
		if m.desc && c > 0 || !m.desc && c < 0 {
			best = i
		}
	}
	if best < 0 {
		return entry{}, false
	}
	e := m.heads[best]
	m.heads[best], m.has[best] = m.its[best].next()
	return e, true
}

func (m *mergeIter) err() error {
	for _, it := range m.its {
		if err := it.err(); err != nil {
			return err
		}
	}
	return nil
}

func concat(a, b []byte) []byte {
	return append(append(make([]byte, 0, len(a)+len(b)), a...), b...)
}
