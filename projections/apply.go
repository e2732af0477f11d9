package projections

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/events"
)

// Apply applies recs, events read from the stream in stream order, in one
// bbolt transaction together with the new checkpoint, the sequence of the
// last record applied. Records at or below Checkpoint are ignored, and a
// link only takes the state of an event with a higher Version than its own,
// so a redelivered batch changes nothing. File events (on file subjects)
// feed the files read model, GetFile and ListFiles; a record on any other
// subject only moves the checkpoint.
//
// A malformed record is skipped: it is logged, counted in Stats and recorded
// in the file, and the checkpoint moves past it. A record this binary cannot
// read stops the batch: the records before it are committed and Apply
// returns an error wrapping ErrStopped and the cause.
//
// Apply calls are serialised; the reader of the stream calls it from one
// goroutine anyway.
func (s *Store) Apply(recs []events.Record) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.isClosed() {
		return ErrClosed
	}
	from := s.ckpt.Load()
	todo := recs
	for len(todo) > 0 && todo[0].Seq <= from {
		todo = todo[1:]
	}
	if len(todo) == 0 {
		return nil
	}
	dec := startDecoding(todo, &s.decoded)
	defer dec.wait()

	var res applyResult
	var created newLinks
	err := s.db.Update(func(tx *bolt.Tx) error {
		res, created = applyResult{last: from}, newLinks{}
		if err := applyTx(tx, s.ids, &created, todo, dec, &res); err != nil {
			return err
		}
		if res.last == from {
			return errNoChange // roll back: no commit, no fsync
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("projections: apply from seq %d: %w", todo[0].Seq, err)
		s.finish(applyResult{last: from}, err)
		return err
	}
	// Committed: index the new links before the checkpoint tells anyone
	// to look for them.
	s.ids.merge(&created)
	for _, sk := range res.skips {
		s.log.Error("projections: skipped malformed event", "seq", sk.seq, "err", sk.err)
	}
	if res.stop != nil {
		err = fmt.Errorf("%w: seq %d: %w", ErrStopped, res.stopSeq, res.stop)
		s.log.Error("projections: stopped", "seq", res.stopSeq, "err", res.stop)
	}
	s.finish(res, err)
	return err
}

// applyResult is what one Apply did, published after the commit.
type applyResult struct {
	last    uint64 // checkpoint after the batch
	applied uint64
	skips   []skip
	stop    error // why the batch stopped early, if it did
	stopSeq uint64
}

type skip struct {
	seq uint64
	err error
}

// writer applies events inside one write transaction.
type writer struct {
	links   *bolt.Bucket
	ids     *idIndex  // the links committed before this transaction
	created *newLinks // the links this transaction created
	indexes [numIndexes]*bolt.Bucket
	arena   arena
}

// errNoChange rolls back a transaction that changed nothing.
var errNoChange = errors.New("projections: nothing to commit")

func applyTx(tx *bolt.Tx, ids *idIndex, created *newLinks, recs []events.Record, dec *decoding, res *applyResult) error {
	w := &writer{links: tx.Bucket(bucketLinks), ids: ids, created: created}
	w.indexes[idxCreated] = tx.Bucket(bucketCreated)
	w.indexes[idxFile] = tx.Bucket(bucketFile)
	w.indexes[idxDeadline] = tx.Bucket(bucketDeadline)
	skipped := tx.Bucket(bucketSkipped)
	start := res.last
	for i, r := range recs {
		if r.Seq <= res.last {
			continue // out of order within the batch: already applied
		}
		d := dec.get(i)
		switch {
		case d.other:
		case d.err == nil && d.file != nil:
			if err := applyFile(tx, r.Seq, d.file); err != nil {
				return fmt.Errorf("seq %d: %w", r.Seq, err)
			}
			res.applied++
		case d.err == nil:
			if err := w.apply(r.Seq, &d.view); err != nil {
				return fmt.Errorf("seq %d: %w", r.Seq, err)
			}
			res.applied++
		case errors.Is(d.err, events.ErrMalformed):
			if err := skipped.Put(seqKey(r.Seq), []byte(d.err.Error())); err != nil {
				return fmt.Errorf("seq %d: record skip: %w", r.Seq, err)
			}
			res.skips = append(res.skips, skip{seq: r.Seq, err: d.err})
		default:
			res.stop, res.stopSeq = d.err, r.Seq
		}
		if res.stop != nil {
			break
		}
		res.last = r.Seq
	}
	if res.last == start {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keyCheckpoint, seqKey(res.last))
}

// apply makes the link's stored state the state after the event ev,
// unless it already holds that version or a later one (recordOfView).
func (w *writer) apply(seq uint64, ev *events.LinkView) error {
	mode, _ := modeByte(ev.Mode) // DecodeLinkView checked it
	key, v := w.created.find(w.links, mode, ev.LinkID)
	if key == nil {
		var err error
		if key, v, err = w.ids.find(w.links, mode, ev.LinkID); err != nil {
			return err
		}
	}
	var ok []byte
	var oldSet indexSet
	if v != nil {
		version, good := recordVersion(v)
		if !good {
			return fmt.Errorf("%w: key %x", errCorrupt, key)
		}
		if version >= ev.Version {
			return nil
		}
		var err error
		if oldSet, err = entriesOfRecord(&w.arena, key, v); err != nil {
			return err
		}
		// The order key never changes, so list cursors stay valid.
		ok = w.arena.alloc(okLen)
		copy(ok, v[2:recordHead])
	} else {
		ok = orderKey(ev.Created, seq)
		key = linkKey(mode, ok)
		w.created.add(mode, ev.LinkID, seq)
	}
	rec := recordOfView(&w.arena, ev, ok)
	newSet, err := entriesOfRecord(&w.arena, key, rec)
	if err != nil {
		return err
	}
	if err := reindex(&w.indexes, &oldSet, &newSet); err != nil {
		return err
	}
	return w.links.Put(key, rec)
}

// readCheckpoint returns the checkpoint stored in tx, 0 when none is.
func readCheckpoint(tx *bolt.Tx) (uint64, error) {
	v := tx.Bucket(bucketMeta).Get(keyCheckpoint)
	switch len(v) {
	case 0:
		return 0, nil
	case seqLen:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: checkpoint", errCorrupt)
}
