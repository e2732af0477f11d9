package projections

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

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

// replace closes the store's file, renames the file at path over it and
// opens that instead, with ids, the idIndex of its links, for
// Rebuild.Finish.
func (s *Store) replace(path string, ids *idIndex) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.isClosed() {
		_ = os.Remove(path)
		return ErrClosed
	}
	if ck := s.ckpt.Load(); ck != 0 {
		_ = os.Remove(path)
		return fmt.Errorf("projections: rebuild: the read model was applied to meanwhile (checkpoint %d)", ck)
	}
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("projections: rebuild: close: %w", err)
	}
	renameErr := os.Rename(path, s.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(s.path))
	}
	if renameErr != nil {
		ids = nil // whichever file is there now: index it
	}
	ns, err := open(s.path, s.opts, ids)
	if err == nil && s.opts.SyncOnBootChange {
		if boot := bootID(); boot != "" {
			if _, err = ns.markOpen(boot); err != nil {
				_ = ns.db.Close()
			}
		}
	}
	if err != nil {
		// The store is unusable: make it say so.
		s.mu.Lock()
		if !s.closed {
			s.closed = true
			close(s.changed)
		}
		s.mu.Unlock()
		return fmt.Errorf("projections: rebuild: reopen: %w", errors.Join(renameErr, err))
	}
	s.db, s.bootGuard, s.ids = ns.db, ns.bootGuard, ns.ids
	s.files.reset()
	if renameErr != nil {
		return fmt.Errorf("projections: rebuild: %w", renameErr)
	}
	s.finish(applyResult{last: ns.ckpt.Load()}, nil)
	s.noteDeadline(time.Time{}) // every deadline is new
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// recordVersion reads the version of a record.
func recordVersion(rec []byte) (uint64, bool) {
	d, _, v := recordBody(rec)
	return v, d.err == nil
}
