package projections

import (
	"bytes"
	"fmt"
	"time"
)

// keyRange is the part of an index a list walks: the order keys in
// [lo, hi), nil bounds being open, newest first (desc) or, for
// ending_before, oldest first.
type keyRange struct {
	lo, hi []byte
	desc   bool
}

// newKeyRange combines the created bounds with the order key of the
// starting_after cursor (older: walk down from below it) or of the
// ending_before cursor (newer: walk up from above it). It reports whether
// the range is empty.
func newKeyRange(from, before *time.Time, older, newer []byte) (keyRange, bool) {
	r := keyRange{desc: true}
	if from != nil {
		r.lo = timeBound(*from)
	}
	if before != nil {
		r.hi = timeBound(*before)
	}
	if older != nil && (r.hi == nil || bytes.Compare(older, r.hi) < 0) {
		r.hi = older
	}
	if newer != nil {
		r.desc = false
		above := after(newer)
		if above == nil {
			return r, true // nothing is newer
		}
		if r.lo == nil || bytes.Compare(above, r.lo) > 0 {
			r.lo = above
		}
	}
	return r, r.lo != nil && r.hi != nil && bytes.Compare(r.lo, r.hi) >= 0
}

func (r *keyRange) inRange(ok []byte) bool {
	return (r.lo == nil || bytes.Compare(ok, r.lo) >= 0) && (r.hi == nil || bytes.Compare(ok, r.hi) < 0)
}

// cursorKey returns the order key stored at the start of rec, the record
// of the cursor id in links or files; a deleted link still has one. A nil
// rec (no such id) is the error notFound(param, id).
func cursorKey(rec []byte, id, param string, notFound func(param, id string) error) ([]byte, error) {
	if rec == nil {
		return nil, notFound(param, id)
	}
	if len(rec) < recordHead {
		return nil, fmt.Errorf("%w: cursor %q", errCorrupt, id)
	}
	return rec[2:recordHead], nil
}
