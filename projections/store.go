package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock that another open
	// Store holds. Default (0): 1s. Open never waits forever.
	Timeout time.Duration

	// Logger receives skipped and stopping events. Default: slog.Default().
	Logger *slog.Logger

	// NoSync skips the fsync after each Apply. Default false. It is unsafe:
	// after a crash of the machine (not just of the process) the file may be
	// corrupt. Use it only to rebuild into a fresh file that is thrown away
	// unless the rebuild completes, then reopen without it.
	NoSync bool

	// DiscardOtherSchema makes Open discard a file that holds a read
	// model of another schema version (an upgrade changed the layout) and
	// start empty, to be rebuilt from the stream, instead of failing with
	// ErrSchema. Default false.
	DiscardOtherSchema bool

	// SyncOnBootChange trades the fsync of every Apply for a check at Open:
	// commits reach the operating system but are not forced to disk, which
	// a crash of the process (even kill -9) cannot undo, and the file
	// records the machine boot it was opened in. When Open finds a file that
	// was not closed cleanly in an earlier boot (the machine went down with
	// it open, so its last commits may be torn), it discards the file and
	// starts empty, to be rebuilt from the stream. Default false. Without a
	// boot id (non-Linux) it falls back to an fsync per Apply.
	SyncOnBootChange bool
}

// DefaultTimeout is the lock timeout when Options.Timeout is 0.
const DefaultTimeout = time.Second

// Store is the read model of file links in one bbolt file. It is safe for
// concurrent use: reads run in parallel with each other and with Apply.
type Store struct {
	db   *bolt.DB
	dbMu sync.RWMutex // held for reading by queries, for writing to replace db (Rebuild)
	log  *slog.Logger
	path string
	opts Options // as Open applied them, to open the file again after a Rebuild

	// ids finds links by id (idindex.go). Replaced, like db, only while
	// both applyMu and dbMu are held for writing.
	ids *idIndex

	applyMu sync.Mutex    // one Apply at a time
	decoded []decoded     // Apply's decoding buffer, reused
	ckpt    atomic.Uint64 // last sequence applied, as committed

	bootGuard bool // SyncOnBootChange is in force

	files fileCache     // decoded files, for GetFile
	hurry chan struct{} // WaitFor is waiting; see Hurry

	mu      sync.Mutex
	changed chan struct{} // closed and replaced after each commit; see WaitFor
	closed  bool
	stats   Stats
}

// Stats describe the work of a Store since it was opened.
type Stats struct {
	// Checkpoint is Checkpoint().
	Checkpoint uint64
	// Applied counts the link and file events applied since Open,
	// including those that changed nothing because they were already
	// applied.
	Applied uint64
	// Skipped counts the malformed records skipped since Open. Every one
	// ever skipped is also recorded in the file, by sequence.
	Skipped uint64
	// LastError is the error of the latest Apply, nil when it succeeded.
	LastError error
}

// Open opens the read model in the file at path, creating it when it does
// not exist. Only one Store may have a file open at a time; Open fails with
// ErrLocked when another holds it for longer than Options.Timeout.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	boot := ""
	if opts.SyncOnBootChange {
		if boot = bootID(); boot != "" {
			opts.NoSync = true
		}
	}
	s, err := open(path, opts, nil)
	if errors.Is(err, ErrSchema) && opts.DiscardOtherSchema {
		opts.Logger.Warn("projections: read model has another schema version; rebuilding it from the stream", "path", path, "err", err)
		if rerr := os.Remove(path); rerr != nil {
			return nil, fmt.Errorf("projections: discard %s: %w", path, rerr)
		}
		s, err = open(path, opts, nil)
	}
	if err != nil || boot == "" {
		return s, err
	}
	fresh, err := s.markOpen(boot)
	if err != nil {
		_ = s.db.Close()
		return nil, err
	}
	if fresh {
		return s, nil
	}
	opts.Logger.Warn("projections: read model was open when the machine stopped; rebuilding it from the stream", "path", path)
	if err := s.db.Close(); err != nil {
		return nil, fmt.Errorf("projections: close %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return nil, fmt.Errorf("projections: discard %s: %w", path, err)
	}
	if s, err = open(path, opts, nil); err != nil {
		return nil, err
	}
	if _, err := s.markOpen(boot); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	s.bootGuard = true
	return s, nil
}

// open opens the bbolt file and its buckets, with ids as its idIndex, or
// one built from the file when ids is nil.
func open(path string, opts Options, ids *idIndex) (*Store, error) {
	db, err := openDB(path, bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	s := &Store{db: db, log: opts.Logger, path: path, opts: opts, changed: make(chan struct{}), hurry: make(chan struct{}, 1)}
	var ckpt uint64
	err = db.Update(func(tx *bolt.Tx) error {
		var err error
		if ckpt, err = initFile(tx); err != nil || ids != nil {
			return err
		}
		ids, err = indexLinks(tx)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	s.ids = ids
	s.ckpt.Store(ckpt)
	s.stats.Checkpoint = ckpt
	return s, nil
}

// initFile creates the buckets and the schema version of a new file, checks
// those of an existing one, and returns its checkpoint.
func initFile(tx *bolt.Tx) (uint64, error) {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return 0, err
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get(keySchema); {
	case v == nil:
		if err := meta.Put(keySchema, seqKey(schemaVersion)); err != nil {
			return 0, err
		}
	case len(v) != seqLen || readUint(v) != schemaVersion:
		return 0, fmt.Errorf("%w: file has %x, this binary writes %d", ErrSchema, v, schemaVersion)
	}
	return readCheckpoint(tx)
}

// Close closes the file. Waiting WaitFor calls return ErrClosed. Closing
// twice is not an error.
func (s *Store) Close() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.changed)
	s.mu.Unlock()
	if s.bootGuard {
		// A clean close makes the file trustworthy in any later boot.
		err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyClean, []byte{1}) })
		if err == nil {
			err = s.db.Sync()
		}
		if err != nil {
			_ = s.db.Close()
			return fmt.Errorf("projections: close: %w", err)
		}
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("projections: close: %w", err)
	}
	return nil
}

// Checkpoint returns the stream sequence of the last event applied, 0 when
// none was. The reader of the stream resumes at Checkpoint()+1.
func (s *Store) Checkpoint() uint64 { return s.ckpt.Load() }

// WaitFor returns nil once the event at stream sequence seq has been
// applied (Checkpoint() >= seq), ctx.Err() when ctx ends first and ErrClosed
// when the store is closed first. An API that appended an event waits for
// its sequence before its next read, so that the read sees the write.
func (s *Store) WaitFor(ctx context.Context, seq uint64) error {
	for {
		// Take the channel before reading the checkpoint: a commit after
		// the read closes this very channel, so no wake-up is lost.
		s.mu.Lock()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if s.ckpt.Load() >= seq {
			return nil
		}
		if closed {
			return ErrClosed
		}
		select {
		case s.hurry <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Hurry receives a value whenever a WaitFor is waiting for an event not
// applied yet: a reader of the stream that holds batches open to make them
// larger (Follow's linger) applies what it has at once. Each wait of
// WaitFor sends at most one value, and an unreceived value is not repeated.
func (s *Store) Hurry() <-chan struct{} { return s.hurry }

// Stats returns what the store did since it was opened.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// finish publishes the result of an Apply: the new checkpoint, the counters,
// and a wake-up for WaitFor.
func (s *Store) finish(res applyResult, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Applied += res.applied
	s.stats.Skipped += uint64(len(res.skips))
	s.stats.LastError = err
	if res.last == s.ckpt.Load() {
		return
	}
	s.ckpt.Store(res.last)
	s.stats.Checkpoint = res.last
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	err := s.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// keyOpenBoot and keyClean record, in the meta bucket, the boot id of the
// machine when the file was last opened and whether it was closed cleanly
// since (SyncOnBootChange).
var (
	keyOpenBoot = []byte("open_boot")
	keyClean    = []byte("clean")
)

// markOpen checks whether the file can be trusted in this boot and then
// records this open, forced to disk before any commit that skips the fsync.
// It reports false when the file must be discarded: opened in another boot
// and not closed cleanly.
func (s *Store) markOpen(boot string) (bool, error) {
	trusted := true
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		prev, clean := meta.Get(keyOpenBoot), meta.Get(keyClean)
		if prev != nil && !bytes.Equal(prev, []byte(boot)) && !bytes.Equal(clean, []byte{1}) {
			trusted = false
			return nil
		}
		if err := meta.Put(keyOpenBoot, []byte(boot)); err != nil {
			return err
		}
		return meta.Put(keyClean, []byte{0})
	})
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return false, fmt.Errorf("projections: mark open: %w", err)
	}
	s.bootGuard = trusted
	return trusted, nil
}

// bootID identifies the running boot of the machine ("" when unknown).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// openDB opens a bbolt file of this package with o and the options every
// such file shares: the freelist is rebuilt by scanning the file on open
// instead of being written on every commit, which makes commits cheaper
// (etcd does the same), and the map freelist stays fast in a large file.
// A lock not had within o.Timeout is ErrLocked.
func openDB(path string, o bolt.Options) (*bolt.DB, error) {
	o.NoFreelistSync, o.FreelistType = true, bolt.FreelistMapType
	db, err := bolt.Open(path, 0o600, &o)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s: no lock after %s: %w", ErrLocked, path, o.Timeout, err)
	}
	return db, err
}
