package projections

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// The expirer's schedule lives in a bbolt file of its own, apart from the
// read model: exactly one expirer process owns it, and it can be deleted and
// rebuilt from the stream at any time. Its layout:
//
//	by_deadline  deadline (12 bytes, schedTime) | mode byte | link id → empty
//	by_link      mode byte | link id → deadline (12 bytes)
//	meta         "checkpoint" → last stream sequence applied (8 bytes)
//	             "pending" → number of links in by_link (8 bytes)
//	             "layout" → schedLayout
//	             "reread_from" → first unsupported event skipped (8 bytes)
//
// by_deadline sorts by time, so the due links are a prefix of it; by_link
// holds each link's one deadline, so a moved deadline replaces the old entry
// instead of adding a second one.
var (
	schedByDeadline = []byte("by_deadline")
	schedByLink     = []byte("by_link")
	schedMeta       = []byte("meta")

	schedKeyCheckpoint = []byte("checkpoint")
	schedKeyPending    = []byte("pending")
	schedKeyLayout     = []byte("layout")
	schedKeyReread     = []byte("reread_from")
)

// schedLayout is the version of the schedule's layout. A file of another
// version is refused with ErrSchema (delete it: it is rebuilt from the
// stream).
const schedLayout = 1

// schedTimeLen is the length of an encoded deadline.
const schedTimeLen = 12

// ScheduleOptions configure OpenSchedule. The zero value is ready to use.
type ScheduleOptions struct {
	// Timeout is how long OpenSchedule waits for the file lock that another
	// open Schedule holds. Default (0): DefaultTimeout. It never waits
	// forever.
	Timeout time.Duration
	// Logger receives skipped events. Default: slog.Default().
	Logger *slog.Logger
	// NoSync skips the fsync after each commit. Default false. A machine
	// crash may then corrupt the file; as the schedule is a pure function of
	// the stream, the remedy is to delete the file and let it rebuild.
	NoSync bool
}

// ScheduleEntry is one pending expiry: the link and the deadline it was
// scheduled for, which the expirer hands to the domain decision unchanged.
type ScheduleEntry struct {
	Mode     events.Mode
	LinkID   string
	Deadline time.Time
}

// ScheduleStats describe a Schedule.
type ScheduleStats struct {
	Checkpoint uint64
	Pending    int
	// Applied counts link events applied since OpenSchedule.
	Applied uint64
	// Malformed counts records skipped by Apply since OpenSchedule because
	// no binary can read them.
	Malformed uint64
	// Unsupported counts events skipped since OpenSchedule because this
	// binary is too old to read them (see ScheduleChange.Unsupported).
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

// OpenSchedule opens the schedule in the file at path, creating it when it
// does not exist. It fails with ErrLocked when another Schedule holds the
// file for longer than the lock timeout, and with ErrSchema when the file
// has another layout.
//
// When an earlier run skipped an event it could not read (a newer schema
// or type), OpenSchedule moves the checkpoint back to just before the first
// such event, so that this binary, maybe a newer one, reads the stream
// again from there. Replaying is harmless: each event sets the link's
// deadline from its full state, in stream order, so the last word is the
// latest event's.
func OpenSchedule(path string, opts ScheduleOptions) (*Schedule, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	db, err := openDB(path, bolt.Options{Timeout: opts.Timeout, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("projections: open schedule %s: %w", path, err)
	}
	s := &Schedule{db: db, log: opts.Logger}
	var ckpt, pending, reread uint64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{schedByDeadline, schedByLink, schedMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(schedMeta)
		switch v := meta.Get(schedKeyLayout); {
		case v == nil:
			if err := meta.Put(schedKeyLayout, schedUintBytes(schedLayout)); err != nil {
				return err
			}
		case schedUint(v) != schedLayout:
			return fmt.Errorf("%w: schedule has layout %x, this binary writes %d", ErrSchema, v, schedLayout)
		}
		ckpt = schedUint(meta.Get(schedKeyCheckpoint))
		pending = schedUint(meta.Get(schedKeyPending))
		if reread = schedUint(meta.Get(schedKeyReread)); reread > 0 && reread <= ckpt+1 {
			ckpt = reread - 1
			if err := meta.Put(schedKeyCheckpoint, schedUintBytes(ckpt)); err != nil {
				return err
			}
		}
		return meta.Delete(schedKeyReread)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("projections: open schedule %s: %w", path, err)
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
func (s *Schedule) Stats() ScheduleStats {
	return ScheduleStats{
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
func (s *Schedule) Due(now time.Time, limit int, skip func(ScheduleEntry) bool) ([]ScheduleEntry, error) {
	var out []ScheduleEntry
	bound := schedTime(now)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(schedByDeadline).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) <= schedTimeLen+1 {
				continue // cannot be written by Commit; never stall on it
			}
			if bytes.Compare(k[:schedTimeLen], bound) > 0 {
				break
			}
			e := schedEntry(k)
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
	return s.seekDeadline(schedTime(t.Add(time.Nanosecond)))
}

func (s *Schedule) seekDeadline(from []byte) (time.Time, bool) {
	var d time.Time
	var ok bool
	_ = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(schedByDeadline).Cursor()
		k, _ := c.First()
		if from != nil {
			k, _ = c.Seek(from)
		}
		if len(k) >= schedTimeLen {
			d, ok = readSchedTime(k), true
		}
		return nil
	})
	return d, ok
}

// Remove deletes each entry that still has the deadline it names, in one
// transaction, and returns how many it deleted. An entry whose deadline
// moved since it was read stays: it is a new deadline, still to come.
func (s *Schedule) Remove(entries []ScheduleEntry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	removed := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		removed = 0
		byDeadline, byLink, meta := tx.Bucket(schedByDeadline), tx.Bucket(schedByLink), tx.Bucket(schedMeta)
		for _, e := range entries {
			lk, ok := schedLinkKey(e.Mode, e.LinkID)
			if !ok {
				continue
			}
			want := schedTime(e.Deadline)
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
		return 0, fmt.Errorf("projections: schedule remove: %w", err)
	}
	s.pending.Add(-int64(removed))
	return removed, nil
}

func putPending(meta *bolt.Bucket, n int64) error {
	return meta.Put(schedKeyPending, schedUintBytes(uint64(max(n, 0))))
}

// schedTime encodes t so that byte order is time order, for any year
// time.Time holds: the Unix seconds with the sign bit flipped, then the
// nanoseconds, both big-endian. (UnixNano would overflow beyond 2262, and a
// link may expire in year 9999.)
func schedTime(t time.Time) []byte {
	b := make([]byte, schedTimeLen, schedTimeLen+1+64)
	binary.BigEndian.PutUint64(b, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return b
}

func readSchedTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// schedLinkKey returns mode byte | link id, and false for a mode or id that
// no valid event carries.
func schedLinkKey(mode events.Mode, id string) ([]byte, bool) {
	var m byte
	switch mode {
	case events.ModeTest:
		m = 't'
	case events.ModeLive:
		m = 'l'
	default:
		return nil, false
	}
	if !domain.ValidID(id) {
		return nil, false
	}
	k := make([]byte, 0, 1+len(id))
	return append(append(k, m), id...), true
}

func schedEntry(k []byte) ScheduleEntry {
	return ScheduleEntry{
		Deadline: readSchedTime(k),
		Mode:     schedModeOf(k[schedTimeLen]),
		LinkID:   string(k[schedTimeLen+1:]),
	}
}

// schedModeOf is the inverse of the mode byte of schedLinkKey.
func schedModeOf(b byte) events.Mode {
	if b == 'l' {
		return events.ModeLive
	}
	return events.ModeTest
}

func schedUintBytes(n uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n)
}

// schedUint reads a value of schedUintBytes; anything else reads as 0.
func schedUint(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
