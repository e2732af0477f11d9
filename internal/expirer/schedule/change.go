package schedule

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/filelinks/filelinks/events"
)

// Change is what one link event does to the schedule.
type Change struct {
	// Seq is the event's stream sequence.
	Seq    uint64
	Mode   events.Mode
	LinkID string
	// Deadline is the link's expires_at when the link is due to expire by
	// the expirer (set, not expired, not deleted); nil removes the link's
	// entry.
	Deadline *time.Time
	// First marks the link's first event (version 1): the link had no
	// entry before it, so without a Deadline the change does nothing.
	First bool
	// Unsupported marks an event this binary cannot read: a newer schema
	// or event type, written by a newer binary. It changes nothing now.
	//
	// The rule, and why it differs from the read model's: the schedule
	// skips such an event instead of stopping, because stopping would halt
	// every expiry for one event, and skipping can never cause a wrong
	// LinkExpired: when a deadline fires, the domain decision re-reads the
	// link's latest event, and refuses (the load fails) while that event is
	// unreadable. What skipping can cost is a deadline that the skipped
	// event set, so the schedule remembers the first skipped event and
	// Open rereads the stream from it: the next start, after the upgrade,
	// schedules what this binary could not.
	Unsupported bool
}

// ChangeOf decodes one stored record into its schedule change. ok is false
// for a record that is not a link event (file events share the stream): it
// changes nothing. An error wraps events.ErrMalformed: no binary can read
// the record, so it is skipped for good. An event of a newer schema or
// unknown type is not an error: it comes back with Unsupported set.
func ChangeOf(rec events.Record) (c Change, ok bool, err error) {
	if !strings.HasPrefix(rec.Subject, events.SubjectPrefix+".") {
		return Change{}, false, nil
	}
	// The schedule needs the link's three times and nothing else of its
	// state: DecodeLinkView reads them without building the rest.
	v := viewPool.Get().(*events.LinkView)
	defer putView(v)
	err = events.DecodeLinkView(rec.Data, v)
	if errors.Is(err, events.ErrUnsupported) {
		return Change{Seq: rec.Seq, Unsupported: true}, true, nil
	}
	if err != nil {
		return Change{}, true, fmt.Errorf("seq %d: %w", rec.Seq, err)
	}
	if _, valid := linkKey(v.Mode, v.LinkID); !valid {
		return Change{}, true, fmt.Errorf("seq %d: %w: link id %.64q is not a valid id", rec.Seq, events.ErrMalformed, v.LinkID)
	}
	c = Change{Seq: rec.Seq, Mode: v.Mode, LinkID: v.LinkID, First: v.Version == 1}
	if v.ExpiresAt.Valid && !v.ExpiredAt.Valid && !v.DeletedAt.Valid {
		d := v.ExpiresAt.Time
		c.Deadline = &d
	}
	return c, true, nil
}

// viewPool holds the LinkViews of ChangeOf, so that their metadata memory
// is reused from one event to the next.
var viewPool = sync.Pool{New: func() any { return new(events.LinkView) }}

// putView returns v to viewPool without the slices of the record it read.
func putView(v *events.LinkView) {
	clear(v.Metadata)
	*v = events.LinkView{Metadata: v.Metadata[:0]}
	viewPool.Put(v)
}
