package schedule

import (
	"errors"
	"fmt"
	"strings"
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
	// TODO(lean): use the events lean decoder
	env, err := events.UnmarshalEnvelope(rec.Data)
	if errors.Is(err, events.ErrUnsupported) {
		return Change{Seq: rec.Seq, Unsupported: true}, true, nil
	}
	if err != nil {
		return Change{}, true, fmt.Errorf("seq %d: %w", rec.Seq, err)
	}
	if _, valid := linkKey(env.Mode, env.LinkID); !valid {
		return Change{}, true, fmt.Errorf("seq %d: %w: link id %.64q is not a valid id", rec.Seq, events.ErrMalformed, env.LinkID)
	}
	c = Change{Seq: rec.Seq, Mode: env.Mode, LinkID: env.LinkID, First: env.Version == 1}
	if l := env.Link; l.ExpiresAt != nil && l.ExpiredAt == nil && l.DeletedAt == nil {
		d := *l.ExpiresAt
		c.Deadline = &d
	}
	return c, true, nil
}
