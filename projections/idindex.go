package projections

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// idIndex finds a link's key in the links bucket from its id.
//
// The links bucket is keyed by the sequence of the event that created each
// link (linkKey), not by id: ids made from an idempotency key are hashes, so
// keyed by id every new link landed on a random page of the bucket, and
// each commit rewrote one random leaf page (and its branch pages) per link
// created. Keyed by sequence, a new link goes to the bucket's last page.
// Finding a link by id then needs this index, which lives in memory: per
// mode, a 64-bit hash of the id maps to the sequence. Its maps hold no
// pointers, so the garbage collector does not scan them; they take about 30
// bytes per link (BenchmarkOpen). Open builds it by reading every record; Apply adds the
// links of a batch after its commit, before it publishes the checkpoint;
// a Rebuild builds one as it goes and hands it over.
//
// Two ids may share a hash. The hash then maps to sharedHash, and shared
// holds every sequence under it. Either way a lookup yields candidates:
// the caller reads each one's record and compares the id (find).
type idIndex struct {
	mu     sync.RWMutex
	seed   maphash.Seed
	seqs   [2]map[uint64]uint64
	shared [2]map[uint64][]uint64
}

// sharedHash marks, in idIndex.seqs, a hash that several ids share. No
// stream sequence is that large.
const sharedHash = ^uint64(0)

// idHashMask narrows the hashes of ids; tests narrow it to make ids share
// hashes.
var idHashMask = ^uint64(0)

func newIDIndex() *idIndex {
	x := &idIndex{seed: maphash.MakeSeed()}
	for i := range x.seqs {
		x.seqs[i] = map[uint64]uint64{}
		x.shared[i] = map[uint64][]uint64{}
	}
	return x
}

// modeSlot numbers the mode bytes 0 and 1.
func modeSlot(mode byte) int {
	if mode == modeTest {
		return 1
	}
	return 0
}

func (x *idIndex) hashString(id string) uint64 { return maphash.String(x.seed, id) & idHashMask }
func (x *idIndex) hashBytes(id []byte) uint64  { return maphash.Bytes(x.seed, id) & idHashMask }

// add records that the link with hash h in mode was created at seq; the
// caller holds mu for writing, or is the only user.
func (x *idIndex) add(mode byte, h, seq uint64) {
	slot := modeSlot(mode)
	prev, ok := x.seqs[slot][h]
	switch {
	case !ok:
		x.seqs[slot][h] = seq
	case prev == sharedHash:
		x.shared[slot][h] = append(x.shared[slot][h], seq)
	default:
		x.seqs[slot][h] = sharedHash
		x.shared[slot][h] = []uint64{prev, seq}
	}
}

// candidates appends to buf the sequences of the links in mode whose id
// may be id.
func (x *idIndex) candidates(buf []uint64, mode byte, h uint64) []uint64 {
	slot := modeSlot(mode)
	x.mu.RLock()
	defer x.mu.RUnlock()
	seq, ok := x.seqs[slot][h]
	switch {
	case !ok:
		return buf
	case seq == sharedHash:
		return append(buf, x.shared[slot][h]...)
	}
	return append(buf, seq)
}

// find returns the key and record of the link id in mode, from links as
// tx sees it, or nil when there is none.
func (x *idIndex) find(links *bolt.Bucket, mode byte, id string) (key, rec []byte, err error) {
	var buf [1]uint64
	for _, seq := range x.candidates(buf[:0], mode, x.hashString(id)) {
		k := linkKeyOfSeq(mode, seq)
		v := links.Get(k)
		if v == nil {
			// Added to the index after a commit that this
			// transaction does not see.
			continue
		}
		rid, good := recordID(v)
		if !good {
			return nil, nil, fmt.Errorf("%w: key %x", errCorrupt, k)
		}
		if string(rid) == id {
			return k, v, nil
		}
	}
	return nil, nil, nil
}

// len returns the number of links indexed.
func (x *idIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for slot := range x.seqs {
		n += len(x.seqs[slot])
		for _, seqs := range x.shared[slot] {
			n += len(seqs) - 1
		}
	}
	return n
}

// indexLinks builds the idIndex of the links in tx.
func indexLinks(tx *bolt.Tx) (*idIndex, error) {
	x := newIDIndex()
	c := tx.Bucket(bucketLinks).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		id, good := recordID(v)
		if len(k) != linkKeyLen || !good || (k[0] != modeTest && k[0] != modeLive) {
			return nil, fmt.Errorf("%w: key %x", errCorrupt, k)
		}
		x.add(k[0], x.hashBytes(id), binary.BigEndian.Uint64(k[1:]))
	}
	return x, nil
}

// newLinks are the links an Apply's transaction created, by mode slot and
// id, added to the store's idIndex once it commits.
type newLinks [2]map[string]uint64

func (n *newLinks) add(mode byte, id string, seq uint64) {
	slot := modeSlot(mode)
	if n[slot] == nil {
		n[slot] = map[string]uint64{}
	}
	n[slot][id] = seq
}

// find returns the key and record of a link this transaction created.
func (n *newLinks) find(links *bolt.Bucket, mode byte, id string) (key, rec []byte) {
	seq, ok := n[modeSlot(mode)][id]
	if !ok {
		return nil, nil
	}
	k := linkKeyOfSeq(mode, seq)
	return k, links.Get(k)
}

// merge adds the links of n to x.
func (x *idIndex) merge(n *newLinks) {
	if n[0] == nil && n[1] == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, mode := range modeBytes {
		for id, seq := range n[modeSlot(mode)] {
			x.add(mode, x.hashString(id), seq)
		}
	}
}
