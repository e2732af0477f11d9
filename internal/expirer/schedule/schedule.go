package schedule

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/events"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock that another open
	// Schedule holds. Default (0): DefaultTimeout. It never waits forever.
	Timeout time.Duration
	// Logger receives skipped events. Default: slog.Default().
	Logger *slog.Logger
	// NoSync skips the fsync after each commit. Default false. A machine
	// crash may then corrupt the file; as the schedule is a pure function of
	// the stream, the remedy is to delete the file and let it rebuild.
	NoSync bool
}

// Entry is one pending expiry: the link and the deadline it was scheduled
// for, which the expirer hands to the domain decision unchanged.
type Entry struct {
	Mode     events.Mode
	LinkID   string
	Deadline time.Time
}

// Stats describe a Schedule.
type Stats struct {
	Checkpoint uint64
	Pending    int
	// Applied counts link events applied since Open.
	Applied uint64
	// Malformed counts records skipped by Apply since Open because no
	// binary can read them.
	Malformed uint64
	// Unsupported counts events skipped since Open because this binary is
	// too old to read them (see Change.Unsupported).
	Unsupported uint64
}

// Schedule is the expirer's durable index of pending expiries by deadline,
// with the stream checkpoint it was built to. It is safe for concurrent use.
type Schedule struct {
	db  *bolt.DB
	log *slog.Logger

	// writeMu serialises Commit and Remove so the pending count kept in
	// memory always equals the committed one.
	writeMu sync.Mutex
	ckpt    atomic.Uint64
	pending atomic.Int64

	applied, malformed, unsupported atomic.Uint64
}

// Open opens the schedule in the file at path, creating it when it does
// not exist. It fails with ErrLocked when another Schedule holds the file
// for longer than the lock timeout, and with ErrSchema when the file has
// another layout.
//
// When an earlier run skipped an event it could not read (a newer schema
// or type), Open moves the checkpoint back to just before the first such
// event, so that this binary, maybe a newer one, reads the stream again
// from there. Replaying is harmless: each event sets the link's deadline
// from its full state, in stream order, so the last word is the latest
// event's.
func Open(path string, opts Options) (*Schedule, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	db, err := openDB(path, bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("schedule: open %s: %w", path, err)
	}
	s := &Schedule{db: db, log: opts.Logger}
	var ckpt, pending, reread uint64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketByDeadline, bucketByLink, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keyLayout); {
		case v == nil:
			if err := meta.Put(keyLayout, uintBytes(layoutVersion)); err != nil {
				return err
			}
		case readUint(v) != layoutVersion:
			return fmt.Errorf("%w: schedule has layout %x, this binary writes %d", ErrSchema, v, layoutVersion)
		}
		ckpt = readUint(meta.Get(keyCheckpoint))
		pending = readUint(meta.Get(keyPending))
		if reread = readUint(meta.Get(keyReread)); reread > 0 && reread <= ckpt+1 {
			ckpt = reread - 1
			if err := meta.Put(keyCheckpoint, uintBytes(ckpt)); err != nil {
				return err
			}
		}
		return meta.Delete(keyReread)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("schedule: open %s: %w", path, err)
	}
	if reread > 0 {
		s.log.Info("schedule rereads the stream from an event an earlier run could not read", "seq", reread)
	}
	s.ckpt.Store(ckpt)
	s.pending.Store(int64(pending))
	return s, nil
}

// Close closes the file. Closing twice is not an error.
func (s *Schedule) Close() error { return s.db.Close() }

// Checkpoint returns the stream sequence of the last record applied.
func (s *Schedule) Checkpoint() uint64 { return s.ckpt.Load() }

// Pending returns the number of links with a scheduled deadline.
func (s *Schedule) Pending() int { return int(s.pending.Load()) }

// Stats returns the schedule's counters.
func (s *Schedule) Stats() Stats {
	return Stats{
		Checkpoint:  s.ckpt.Load(),
		Pending:     int(s.pending.Load()),
		Applied:     s.applied.Load(),
		Malformed:   s.malformed.Load(),
		Unsupported: s.unsupported.Load(),
	}
}

// Due returns up to limit entries whose deadline is at or before now,
// oldest first. Entries for which skip (when not nil) returns true are
// passed over and do not count against limit: the expirer skips those it is
// already expiring or waiting to retry, so they never hide the entries
// behind them.
func (s *Schedule) Due(now time.Time, limit int, skip func(Entry) bool) ([]Entry, error) {
	var out []Entry
	bound := timeKey(now)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketByDeadline).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) <= timeLen+1 {
				continue // cannot be written by Commit; never stall on it
			}
			if bytes.Compare(k[:timeLen], bound) > 0 {
				break
			}
			e := entryOf(k)
			if skip != nil && skip(e) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Next returns the earliest scheduled deadline, and false when nothing is
// pending.
func (s *Schedule) Next() (time.Time, bool) {
	return s.seekDeadline(nil)
}

// NextAfter returns the earliest scheduled deadline after t, and false when
// there is none.
func (s *Schedule) NextAfter(t time.Time) (time.Time, bool) {
	return s.seekDeadline(timeKey(t.Add(time.Nanosecond)))
}

func (s *Schedule) seekDeadline(from []byte) (time.Time, bool) {
	var d time.Time
	var ok bool
	_ = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketByDeadline).Cursor()
		k, _ := c.First()
		if from != nil {
			k, _ = c.Seek(from)
		}
		if len(k) >= timeLen {
			d, ok = readTime(k), true
		}
		return nil
	})
	return d, ok
}

// Remove deletes each entry that still has the deadline it names, in one
// transaction, and returns how many it deleted. An entry whose deadline
// moved since it was read stays: it is a new deadline, still to come.
func (s *Schedule) Remove(entries []Entry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		removed = 0
		byDeadline, byLink, meta := tx.Bucket(bucketByDeadline), tx.Bucket(bucketByLink), tx.Bucket(bucketMeta)
		for _, e := range entries {
			lk, ok := linkKey(e.Mode, e.LinkID)
			if !ok {
				continue
			}
			want := timeKey(e.Deadline)
			if cur := byLink.Get(lk); cur == nil || !bytes.Equal(cur, want) {
				continue
			}
			if err := byDeadline.Delete(append(want, lk...)); err != nil {
				return err
			}
			if err := byLink.Delete(lk); err != nil {
				return err
			}
			removed++
		}
		return putPending(meta, s.pending.Load()-int64(removed))
	})
	if err != nil {
		return 0, fmt.Errorf("schedule: remove: %w", err)
	}
	s.pending.Add(-int64(removed))
	return removed, nil
}

func putPending(meta *bolt.Bucket, n int64) error {
	return meta.Put(keyPending, uintBytes(uint64(max(n, 0))))
}
