package projections

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/events"
)

// A Rebuild builds the read model from the start of the stream into a file
// of its own, and then puts that file in place of the store's. It gives
// the same file, key for key, as Apply would, and is several times faster
// on a long stream:
//
//   - It keeps the latest state of the links it was given in memory and
//     writes them, sorted by key, only when they fill rebuildMemory (or at
//     Finish), so a link updated soon after its creation is written once.
//   - It writes no index entry until Finish, which derives every index
//     from the final records (index entries are a function of a link's
//     record), sorts the entries and inserts them in key order: each page
//     of an index is written about once, where Apply may rewrite a page
//     for each new entry, and entries that a later event would remove
//     again are never written.
//   - Its file skips fsync (Options.NoSync): until Finish renames it over
//     the store's file, it is nobody's read model, and a crash leaves only
//     a file that the next Rebuild deletes.
//
// A Rebuild is used from one goroutine. The store answers queries from its
// own file meanwhile, and Checkpoint stays where it was (0) until Finish.
type Rebuild struct {
	s    *Store
	path string
	db   *bolt.DB

	last    uint64                  // sequence of the last record taken
	links   map[string]*pendingLink // states not yet written, by idKey
	arena   arena                   // memory of the pending records and keys
	files   []pendingFile
	skips   []skip
	held    int   // bytes held by the above
	stopped error // why the rebuild cannot go on, wrapping ErrStopped
	failed  error // a write failed: Apply and Finish refuse
	memory  int   // rebuildMemory; tests make it small
	nlinks  int   // links taken, an estimate of how many there are
	batch   int   // insertBatch; tests make it small
	// index finds the links written, or being written, by id; the store
	// takes it over in Finish.
	index   *idIndex
	writing *rebuildWrite // the flush being written, if any
	decoded []decoded
}

// pendingLink is the latest state of a link that a Rebuild knows of.
type pendingLink struct {
	key     []byte // linkKey
	rec     []byte // its record, see recordOfView
	version uint64
	written bool // rec is what the file holds
	indexed bool // in Rebuild.index: written, or being written, before
}

type pendingFile struct {
	seq  uint64
	file events.FileState
}

// rebuildMemory bounds the bytes a Rebuild holds before it writes them:
// pending link states while events arrive (while one such batch is being
// written the next fills, so up to twice this), and half of it in index
// entries in Finish. Fewer, larger batches matter most for links whose ids
// are not time-ordered (created with an idempotency key): each batch is
// merged into the links already written. 128 MiB holds the links of about
// 700,000 events.
const rebuildMemory = 128 << 20

// rebuildFill is the fill of pages that a Rebuild writes in key order.
// bbolt's default split leaves such pages half empty; fuller pages make a
// smaller file and fewer pages to write.
const rebuildFill = 0.9

// Rebuild starts a rebuild of the store's read model, which must be empty
// (Checkpoint 0), in a new file next to the store's. Give it the stream
// from sequence 1 with Apply, then call Finish to put it in place, or
// Abort. A file left by an earlier rebuild that did not finish is deleted.
func (s *Store) Rebuild() (*Rebuild, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.isClosed() {
		return nil, ErrClosed
	}
	if ck := s.ckpt.Load(); ck != 0 {
		return nil, fmt.Errorf("projections: rebuild: the read model is not empty (checkpoint %d)", ck)
	}
	path := s.path + ".rebuild"
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("projections: rebuild: %w", err)
	}
	db, err := openDB(path, bolt.Options{
		Timeout:    s.opts.Timeout,
		NoSync:     true,
		NoGrowSync: true,
		// A remap, when the file outgrows the map, makes bbolt copy every
		// key and value the write transaction holds; rebuild transactions
		// hold many.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("projections: rebuild: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := initFile(tx); return err }); err != nil {
		_ = db.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("projections: rebuild: %w", err)
	}
	return &Rebuild{s: s, path: path, db: db, links: map[string]*pendingLink{}, index: newIDIndex(), memory: rebuildMemory, batch: insertBatch}, nil
}

// Checkpoint returns the sequence of the last record the rebuild took.
func (r *Rebuild) Checkpoint() uint64 { return r.last }

// Apply takes recs, records of the stream in order, as Store.Apply does:
// records at or below Checkpoint are ignored, a malformed record is
// skipped (logged, counted and recorded), and a record this binary cannot
// read stops the rebuild: Apply returns an error wrapping ErrStopped, then
// and on every later call, and Finish puts in place what came before it.
func (r *Rebuild) Apply(recs []events.Record) error {
	if r.db == nil {
		return errors.New("projections: rebuild: finished or aborted")
	}
	if r.failed != nil {
		return r.failed
	}
	if r.stopped != nil {
		return r.stopped
	}
	todo := recs
	for len(todo) > 0 && todo[0].Seq <= r.last {
		todo = todo[1:]
	}
	if len(todo) == 0 {
		return nil
	}
	dec := startDecoding(todo, &r.decoded)
	defer dec.wait()
	var res applyResult
	err := r.db.View(func(tx *bolt.Tx) error {
		links := tx.Bucket(bucketLinks)
		for i, rec := range todo {
			if rec.Seq <= r.last {
				continue
			}
			d := dec.get(i)
			switch {
			case d.other:
			case d.err == nil && d.file != nil:
				r.files = append(r.files, pendingFile{seq: rec.Seq, file: *d.file})
				r.held += 256
				res.applied++
			case d.err == nil:
				if err := r.fold(links, rec.Seq, &d.view); err != nil {
					return fmt.Errorf("seq %d: %w", rec.Seq, err)
				}
				res.applied++
			case errors.Is(d.err, events.ErrMalformed):
				sk := skip{seq: rec.Seq, err: d.err}
				r.skips = append(r.skips, sk)
				res.skips = append(res.skips, sk)
				r.held += 64 + len(d.err.Error())
			default:
				r.stopped = fmt.Errorf("%w: seq %d: %w", ErrStopped, rec.Seq, d.err)
				r.s.log.Error("projections: rebuild stopped", "seq", rec.Seq, "err", d.err)
				return nil
			}
			r.last = rec.Seq
		}
		return nil
	})
	for _, sk := range res.skips {
		r.s.log.Error("projections: skipped malformed event", "seq", sk.seq, "err", sk.err)
	}
	r.s.mu.Lock()
	r.s.stats.Applied += res.applied
	r.s.stats.Skipped += uint64(len(res.skips))
	r.s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	if r.held >= r.memory {
		if err := r.flush(); err != nil {
			return err
		}
	}
	return r.stopped
}

// fold makes the link state of ev the latest state of its link, unless the
// link already has that version or a later one: what Apply's writer does,
// in memory.
func (r *Rebuild) fold(links *bolt.Bucket, seq uint64, ev *events.LinkView) error {
	mode, _ := modeByte(ev.Mode) // DecodeLinkView checked it
	ik := idKey(mode, ev.LinkID)
	p := r.links[string(ik)]
	if w := r.writing; p == nil && w != nil {
		if q := w.links[string(ik)]; q != nil {
			// Being written: as good as in the file.
			p = r.pend(ik, q.key)
			p.rec, p.version, p.written, p.indexed = r.copy(q.rec), q.version, true, true
		}
	}
	if p == nil {
		key, v, err := r.index.find(links, mode, ev.LinkID)
		if err != nil {
			return err
		}
		if v != nil {
			version, ok := recordVersion(v)
			if !ok {
				return fmt.Errorf("%w: key %x", errCorrupt, key)
			}
			p = r.pend(ik, key)
			p.rec, p.version, p.written, p.indexed = r.copy(v), version, true, true
		}
	}
	if p != nil && p.version >= ev.Version {
		return nil
	}
	var ok []byte
	if p != nil {
		ok = p.rec[2:recordHead] // the order key never changes
	} else {
		ok = orderKey(ev.Created, seq)
	}
	rec := recordOfView(&r.arena, ev, ok)
	if p == nil {
		p = r.pend(ik, linkKey(mode, ok))
		r.nlinks++
	}
	p.rec, p.version, p.written = rec, ev.Version, false
	r.held += len(p.rec)
	return nil
}

// pend adds a pending link: ik is its idKey, key its linkKey.
func (r *Rebuild) pend(ik, key []byte) *pendingLink {
	p := &pendingLink{key: r.copy(key)}
	r.links[string(ik)] = p
	r.held += len(ik) + len(key) + 96 // keys in the map and the arena, entry overhead
	return p
}

func (r *Rebuild) copy(b []byte) []byte {
	c := r.arena.alloc(len(b))
	copy(c, b)
	r.held += len(b)
	return c
}

// Finish writes what the rebuild holds, builds the indexes, and puts the
// file in place of the store's, whose Checkpoint then jumps to the
// rebuild's. The rebuild is over either way; on error, its file is deleted
// and the store keeps its own.
func (r *Rebuild) Finish() (err error) {
	if r.db == nil {
		return errors.New("projections: rebuild: finished or aborted")
	}
	defer func() {
		if err != nil {
			_ = r.Abort()
		}
	}()
	if r.failed != nil {
		return r.failed
	}
	if err := r.flush(); err != nil {
		return err
	}
	if err := r.waitWrite(); err != nil {
		return err
	}
	// The links are written: have the kernel write them to disk while the
	// indexes are built, so that the final fsync has only the indexes
	// left to wait for. A writeback error is reported once per file, so
	// this sync's error counts as much as the final one's.
	synced := make(chan error, 1)
	go func() { synced <- r.db.Sync() }()
	err = r.buildIndexes()
	if serr := <-synced; err == nil && serr != nil {
		err = fmt.Errorf("projections: rebuild: %w", serr)
	}
	if err != nil {
		return err
	}
	if err := r.db.Sync(); err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	err = r.db.Close()
	r.db = nil
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	return r.s.replace(r.path, r.index)
}

// Abort ends the rebuild and deletes its file.
func (r *Rebuild) Abort() error {
	_ = r.waitWrite()
	if r.db != nil {
		_ = r.db.Close()
		r.db = nil
	}
	if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	return nil
}
