package projections

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The indexes. Each holds one entry per live (not deleted) link, keyed so
// that a bbolt cursor walks it in order key order. The values of by_created
// and by_file are the link id; those of by_deadline are
//
//	id length (1) | id | file id
//
// No value holds a changing field (the deadline is only in the key of
// by_deadline), so an update that moves expires_at rewrites two entries:
// the link and its deadline.

// Index slots, positions in writer.indexes.
const (
	idxCreated = iota
	idxFile
	idxDeadline
	idxToken
	numIndexes
)

// indexEntry is one key/value pair a link contributes to an index.
type indexEntry struct {
	index int
	key   []byte
	val   []byte
}

// indexSet is every entry of one link; a link has at most one per index.
type indexSet struct {
	n int
	e [numIndexes]indexEntry
}

func (s *indexSet) add(index int, key, val []byte) {
	s.e[s.n] = indexEntry{index: index, key: key, val: val}
	s.n++
}

func (s *indexSet) find(index int, key []byte) *indexEntry {
	for i := range s.n {
		if s.e[i].index == index && bytes.Equal(s.e[i].key, key) {
			return &s.e[i]
		}
	}
	return nil
}

// linkClass returns the class of a link: whether a LinkExpired was applied.
func linkClass(s *stored) byte {
	if s.link.ExpiredAt != nil {
		return classExpired
	}
	return classOpen
}

// entriesOf returns the index entries of s; a deleted link (a tombstone) has
// none, and neither has nil.
func entriesOf(a *arena, mode byte, s *stored) indexSet {
	var set indexSet
	if s == nil || s.deleted {
		return set
	}
	l := &s.link
	class := linkClass(s)
	id := a.alloc(len(l.ID))
	copy(id, l.ID)

	k := a.alloc(2 + okLen)[:0]
	k = append(append(k, mode, class), s.ok...)
	set.add(idxCreated, k, id)

	k = a.alloc(len(l.FileID) + 3 + okLen)[:0]
	k = append(append(append(k, mode), l.FileID...), sepFile, class)
	set.add(idxFile, append(k, s.ok...), id)

	if class == classOpen && l.ExpiresAt != nil {
		k = a.alloc(1 + timeLen + okLen)[:1+timeLen]
		k[0] = mode
		putTime(k[1:], *l.ExpiresAt)
		v := a.alloc(1 + len(l.ID) + len(l.FileID))[:0]
		v = append(append(append(v, byte(len(l.ID))), l.ID...), l.FileID...)
		set.add(idxDeadline, append(k, s.ok...), v)
	}
	if l.Token != "" {
		set.add(idxToken, []byte(l.Token), linkKey(mode, l.ID))
	}
	return set
}

// reindex replaces the entries old by the entries new, touching only the
// keys that differ, so an event that changes no indexed field (a metadata
// update) writes nothing here.
func reindex(buckets *[numIndexes]*bolt.Bucket, old, new *indexSet) error {
	for i := range old.n {
		o := &old.e[i]
		if new.find(o.index, o.key) != nil {
			continue
		}
		b := buckets[o.index]
		if o.index == idxToken && !bytes.Equal(b.Get(o.key), o.val) {
			continue // the token now belongs to another link; leave it
		}
		if err := b.Delete(o.key); err != nil {
			return fmt.Errorf("projections: delete index entry: %w", err)
		}
	}
	for i := range new.n {
		e := &new.e[i]
		if o := old.find(e.index, e.key); o != nil && bytes.Equal(o.val, e.val) {
			continue
		}
		if err := buckets[e.index].Put(e.key, e.val); err != nil {
			return fmt.Errorf("projections: put index entry: %w", err)
		}
	}
	return nil
}

// entry is a list candidate read from an index. Its slices point into the
// transaction's pages.
type entry struct {
	ok     []byte
	id     []byte
	fileID []byte // set only for entries of by_deadline
}

// parseDeadline decodes a by_deadline value.
func parseDeadline(ok, val []byte) (entry, bool) {
	if len(val) < 1 || len(val) < 1+int(val[0]) {
		return entry{}, false
	}
	n := 1 + int(val[0])
	return entry{ok: ok, id: val[1:n], fileID: val[n:]}, true
}
