package projections

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The read model as an expirer's schedule. by_deadline holds exactly the
// links an expirer must fire: live, with an expires_at and no LinkExpired
// applied, keyed by mode, deadline and order key. An expirer that runs in
// the process of the projector reads its deadlines here (Due, NextAfter)
// and is told of new ones (OnDeadline), instead of keeping a schedule of
// its own fed by a second consumer of the stream.

// Due returns up to limit links whose deadline is at or before now, the
// soonest first across both modes, leaving out those skip reports (it may
// be nil). An entry stays until its LinkExpired, or a change of deadline,
// is applied.
func (s *Store) Due(now time.Time, limit int, skip func(ScheduleEntry) bool) ([]ScheduleEntry, error) {
	var out []ScheduleEntry
	bound := make([]byte, timeLen)
	putTime(bound, now)
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeadline)
		var cur [len(modeBytes)]*bolt.Cursor
		var key [len(modeBytes)][]byte
		var val [len(modeBytes)][]byte
		for i, m := range modeBytes {
			cur[i] = b.Cursor()
			key[i], val[i] = cur[i].Seek([]byte{m})
		}
		for len(out) < limit {
			// The due entry with the soonest deadline of either mode.
			pick := -1
			for i, m := range modeBytes {
				k := key[i]
				if k == nil || k[0] != m || len(k) < 1+timeLen || bytes.Compare(k[1:1+timeLen], bound) > 0 {
					continue
				}
				if pick < 0 || bytes.Compare(k[1:1+timeLen], key[pick][1:1+timeLen]) < 0 {
					pick = i
				}
			}
			if pick < 0 {
				return nil
			}
			k, v := key[pick], val[pick]
			key[pick], val[pick] = cur[pick].Next()
			if len(k) != 1+timeLen+okLen {
				return fmt.Errorf("%w: deadline key %q", errCorrupt, k)
			}
			e, good := parseDeadline(k[1+timeLen:], v)
			if !good {
				return fmt.Errorf("%w: deadline value of %q", errCorrupt, k)
			}
			se := ScheduleEntry{Mode: modeOf(k[0]), LinkID: string(e.id), Deadline: getTime(k[1 : 1+timeLen])}
			if skip != nil && skip(se) {
				continue
			}
			out = append(out, se)
		}
		return nil
	})
	return out, err
}

// NextAfter returns the earliest deadline after t of any link in
// by_deadline, and false when there is none.
func (s *Store) NextAfter(t time.Time) (time.Time, bool) {
	from := make([]byte, 1+timeLen)
	putTime(from[1:], t.Add(time.Nanosecond))
	var next time.Time
	found := false
	_ = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDeadline).Cursor()
		for _, m := range modeBytes {
			from[0] = m
			k, _ := c.Seek(from)
			if k == nil || k[0] != m || len(k) < 1+timeLen {
				continue
			}
			if d := getTime(k[1 : 1+timeLen]); !found || d.Before(next) {
				next, found = d, true
			}
		}
		return nil
	})
	return next, found
}

// OnDeadline registers fn to be called after each commit that gave a link
// a deadline, with the soonest such deadline, and after a rebuild is put
// in place with the zero time (look at everything). It is called on the
// projector's goroutine, so it must return quickly. A later call replaces
// fn; nil removes it.
func (s *Store) OnDeadline(fn func(time.Time)) {
	if fn == nil {
		s.onDeadline.Store(nil)
		return
	}
	s.onDeadline.Store(&fn)
}

// noteDeadline calls the OnDeadline function, if any.
func (s *Store) noteDeadline(t time.Time) {
	if fn := s.onDeadline.Load(); fn != nil {
		(*fn)(t)
	}
}
