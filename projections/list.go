package projections

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/domain"
)

// defaultLimit is the page size when domain.ListQuery.Limit is below 1.
const defaultLimit = 10

// List returns a page of the links q selects, newest first: ordered by
// creation time, and links created at the same instant by the sequence of
// the events that created them, so the order is total and never changes.
// Every filter and both cursor directions are served from indexes (see the
// package documentation). A Limit below 1 means 10 and above
// domain.MaxListLimit means domain.MaxListLimit; Now is the clock of the
// Expired filter. A cursor may name a link that does not match the filters,
// or was deleted.
//
// It returns a *domain.Error with code domain.EINVALID when a cursor names no
// link of the mode (reason ReasonInvalidCursor), when both cursors are set
// (param "ending_before") or when IDs holds more than domain.MaxListLimit
// ids (param "ids").
func (s *Store) List(q domain.ListQuery) (domain.Page, error) {
	mode, ok := modeByte(q.Mode)
	switch {
	case !ok:
		return domain.Page{}, fmt.Errorf("%w: %q", ErrMode, q.Mode)
	case q.StartingAfter != "" && q.EndingBefore != "":
		return domain.Page{}, bothCursors()
	case len(q.IDs) > domain.MaxListLimit:
		return domain.Page{}, tooManyIDs(len(q.IDs))
	}
	switch {
	case q.Limit < 1:
		q.Limit = defaultLimit
	case q.Limit > domain.MaxListLimit:
		q.Limit = domain.MaxListLimit
	}
	var p domain.Page
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		p, err = list(tx, s.ids, mode, &q)
		return err
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return domain.Page{}, err
		}
		return domain.Page{}, fmt.Errorf("projections: list: %w", err)
	}
	return p, nil
}

// walk is one list of links.
type walk struct {
	keyRange
	index *idIndex
	mode  byte
	q     *domain.ListQuery
	now   []byte // q.Now, encoded
}

func list(tx *bolt.Tx, ids *idIndex, mode byte, q *domain.ListQuery) (domain.Page, error) {
	links := tx.Bucket(bucketLinks)
	var older, newer []byte // the cursors' order keys
	for _, c := range []struct {
		id, param string
		ok        *[]byte
	}{{q.StartingAfter, "starting_after", &older}, {q.EndingBefore, "ending_before", &newer}} {
		if c.id == "" {
			continue
		}
		_, rec, err := ids.find(links, mode, c.id)
		if err != nil {
			return domain.Page{}, err
		}
		if *c.ok, err = cursorKey(rec, c.id, c.param, invalidCursor); err != nil {
			return domain.Page{}, err
		}
	}
	r, empty := newKeyRange(q.CreatedFrom, q.CreatedBefore, older, newer)
	if empty {
		return domain.Page{Links: []domain.Link{}}, nil
	}
	w := walk{keyRange: r, index: ids, mode: mode, q: q, now: make([]byte, timeLen)}
	putTime(w.now, q.Now)

	it, skip, err := w.candidates(tx)
	if err != nil {
		return domain.Page{}, err
	}
	picked := make([]entry, 0, q.Limit+1)
	for len(picked) <= q.Limit {
		e, ok := it.next()
		if !ok {
			break
		}
		if skip != nil {
			skipped, err := skip(e)
			if err != nil {
				return domain.Page{}, err
			}
			if skipped {
				continue
			}
		}
		picked = append(picked, e)
	}
	if err := it.err(); err != nil {
		return domain.Page{}, err
	}
	p := domain.Page{HasMore: len(picked) > q.Limit}
	picked = picked[:min(len(picked), q.Limit)]
	p.Links = make([]domain.Link, len(picked))
	for i, e := range picked {
		l, found, err := loadLink(links, linkKey(mode, e.ok))
		if err != nil {
			return domain.Page{}, err
		}
		if !found {
			return domain.Page{}, fmt.Errorf("%w: index names missing link %x", errCorrupt, e.ok)
		}
		p.Links[i] = l
	}
	if !w.desc {
		slices.Reverse(p.Links)
	}
	return p, nil
}

// candidates returns the entries that may match the query, in the walk's
// direction, and for expired=false a test of whether an entry is expired by
// the clock. The indexes are split by whether a LinkExpired was applied, so
// the expired filter picks a part: expired=true is the expired part merged
// with the links past their deadline without LinkExpired yet (the expirer's
// backlog), expired=false the other part minus that backlog.
func (w *walk) candidates(tx *bolt.Tx) (iter, func(entry) (bool, error), error) {
	q := w.q
	if len(q.IDs) > 0 {
		it, err := w.ids(tx.Bucket(bucketLinks))
		return it, nil, err
	}
	part := func(class byte) iter {
		if q.FileID == "" {
			return newRangeIter(tx.Bucket(bucketCreated), createdPrefix(w.mode, class), w.lo, w.hi, w.desc)
		}
		return newRangeIter(tx.Bucket(bucketFile), filePrefix(w.mode, q.FileID, class), w.lo, w.hi, w.desc)
	}
	switch {
	case q.Expired == nil:
		return newMergeIter(w.desc, part(classExpired), part(classOpen)), nil, nil
	case *q.Expired:
		passed, _, err := w.deadlinePassed(tx.Bucket(bucketDeadline), -1)
		if err != nil {
			return nil, nil, err
		}
		return newMergeIter(w.desc, part(classExpired), sortedIter(passed, w.desc)), nil, nil
	}
	passed, complete, err := w.deadlinePassed(tx.Bucket(bucketDeadline), maxSkipSet)
	if err != nil {
		return nil, nil, err
	}
	if !complete {
		// A large backlog: rather than collect it, check the deadline of
		// each candidate, which costs a lookup per link walked.
		return part(classOpen), w.expiredByClock(tx.Bucket(bucketLinks)), nil
	}
	set := make(map[[okLen]byte]bool, len(passed))
	for _, e := range passed {
		set[[okLen]byte(e.ok)] = true
	}
	return part(classOpen), func(e entry) (bool, error) { return set[[okLen]byte(e.ok)], nil }, nil
}

// maxSkipSet bounds the backlog that expired=false collects up front. A
// variable so that tests can take the other path.
var maxSkipSet = 256

// expiredByClock returns a test of whether an entry's link has
// now >= expires_at.
func (w *walk) expiredByClock(links *bolt.Bucket) func(entry) (bool, error) {
	return func(e entry) (bool, error) {
		key := linkKey(w.mode, e.ok)
		v := links.Get(key)
		if v == nil {
			return false, fmt.Errorf("%w: index names missing link %x", errCorrupt, e.ok)
		}
		st, err := decodeRecord(key, v, false)
		if err != nil {
			return false, err
		}
		return st.link.Expired(w.q.Now), nil
	}
}

// deadlinePassed returns the links in the walk's range (and file) that are
// expired by the clock, now >= expires_at, but have no LinkExpired yet: a
// scan of by_deadline up to now. The expirer appends LinkExpired soon after
// each deadline, so this set holds only its backlog. With limit >= 0 it
// stops after limit entries and reports whether it saw them all.
func (w *walk) deadlinePassed(b *bolt.Bucket, limit int) ([]entry, bool, error) {
	var es []entry
	c := b.Cursor()
	prefix := deadlinePrefix(w.mode)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != 1+timeLen+okLen {
			return nil, false, fmt.Errorf("%w: deadline key %q", errCorrupt, k)
		}
		if bytes.Compare(k[1:1+timeLen], w.now) > 0 {
			break
		}
		e, good := parseDeadline(k[1+timeLen:], v)
		if !good {
			return nil, false, fmt.Errorf("%w: deadline value of %q", errCorrupt, k)
		}
		if w.inRange(e.ok) && (w.q.FileID == "" || string(e.fileID) == w.q.FileID) {
			if len(es) == limit {
				return nil, false, nil
			}
			es = append(es, e)
		}
	}
	return es, true, nil
}

// ids looks up each id of the query and keeps the links that match it.
func (w *walk) ids(links *bolt.Bucket) (iter, error) {
	q := w.q
	es := make([]entry, 0, len(q.IDs))
	seen := make(map[string]bool, len(q.IDs))
	for _, id := range q.IDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		key, v, err := w.index.find(links, w.mode, id)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		st, err := decodeRecord(key, v, false)
		if err != nil {
			return nil, err
		}
		switch {
		case st.deleted, !w.inRange(st.ok),
			q.FileID != "" && st.link.FileID != q.FileID,
			q.Expired != nil && st.link.Expired(q.Now) != *q.Expired:
			continue
		}
		es = append(es, entry{ok: st.ok})
	}
	return sortedIter(es, w.desc), nil
}
