package projections

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The indexes. Each holds one entry per live (not deleted) link, keyed so
// that a bbolt cursor walks it in order key order, which also names the
// link's key (linkKey). The values of by_created and by_file are the link
// id; those of by_deadline are
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

// entriesOfRecord returns the index entries of the record rec stored under
// key, read straight from its bytes. A tombstone has none.
func entriesOfRecord(a *arena, key, rec []byte) (indexSet, error) {
	var set indexSet
	d, id, _ := recordBody(rec)
	if len(key) != linkKeyLen || d.err != nil {
		return set, fmt.Errorf("%w: key %x", errCorrupt, key)
	}
	flags := rec[1]
	if flags&recordDeleted != 0 {
		return set, nil
	}
	var times [3][]byte
	for i, f := range [3]byte{recordExpiresAt, recordExpiredAt, recordDeletedAt} {
		if flags&f == 0 {
			continue
		}
		if len(d.b) < timeLen {
			return set, fmt.Errorf("%w: key %x", errCorrupt, key)
		}
		times[i], d.b = d.b[:timeLen], d.b[timeLen:]
	}
	fileID := d.bytes()
	if d.err != nil {
		return set, fmt.Errorf("%w: key %x", errCorrupt, key)
	}
	class := byte(classOpen)
	if times[1] != nil {
		class = classExpired
	}
	addEntries(&set, a, key[0], id, fileID, rec[2:recordHead], class, times[0])
	return set, nil
}

// addEntries adds the index entries of a live link to set, with keys and
// values in a: deadline is its expires_at as putTime writes it, nil when
// it has none.
func addEntries(set *indexSet, a *arena, mode byte, id, fileID, ok []byte, class byte, deadline []byte) {
	idv := a.alloc(len(id))
	copy(idv, id)

	k := a.alloc(2 + okLen)[:0]
	k = append(append(k, mode, class), ok...)
	set.add(idxCreated, k, idv)

	k = a.alloc(len(fileID) + 3 + okLen)[:0]
	k = append(append(append(k, mode), fileID...), sepFile, class)
	set.add(idxFile, append(k, ok...), idv)

	if class == classOpen && deadline != nil {
		k = a.alloc(1 + timeLen + okLen)[:0]
		k = append(append(append(k, mode), deadline...), ok...)
		v := a.alloc(1 + len(id) + len(fileID))[:0]
		v = append(append(append(v, byte(len(id))), id...), fileID...)
		set.add(idxDeadline, k, v)
	}
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
		if err := buckets[o.index].Delete(o.key); err != nil {
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
