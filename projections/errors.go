package projections

import (
	"errors"

	"github.com/filelinks/filelinks/domain"
)

// ErrStopped is returned, wrapped together with its cause, by Apply when it
// meets an event this binary cannot read: a newer schema or an unknown event
// type, written by a newer binary. Everything before that event is
// committed and Checkpoint is its sequence minus one; applying it again
// fails the same way until the binary is upgraded.
var ErrStopped = errors.New("projections: stopped at an event this binary cannot read")

// ErrLocked is returned by Open when another open Store, in this or another
// process, still holds the file's lock after Options.Timeout.
var ErrLocked = errors.New("projections: file is locked by another store")

// ErrSchema is returned by Open when the file holds a read model of another
// layout than this binary writes. Rebuild it into a fresh file.
var ErrSchema = errors.New("projections: read model has another schema version")

// ErrClosed is returned when the Store was closed.
var ErrClosed = errors.New("projections: store closed")

// ErrMode is returned when a query names a mode other than events.ModeTest
// and events.ModeLive; it is a fault of the caller, not of its client.
var ErrMode = errors.New("projections: invalid mode")

// ReasonInvalidCursor is the reason of the *domain.Error (code
// domain.EINVALID) that List returns when starting_after or ending_before
// names no link of the mode.
const ReasonInvalidCursor = "invalid_cursor"

func linkNotFound(id string) error {
	return domain.Errorf(domain.ENOTFOUND, domain.ReasonLinkNotFound, "id", "No such file link: '%s'", id)
}

// tokenNotFound does not echo the token: it is a secret, and a URL that
// names it may be logged or shown.
func tokenNotFound() error {
	return &domain.Error{Code: domain.ENOTFOUND, Reason: domain.ReasonLinkNotFound, Message: "No such file link."}
}

func invalidCursor(param, id string) error {
	return domain.Errorf(domain.EINVALID, ReasonInvalidCursor, param, "No such file link: '%s'", id)
}

func bothCursors() error {
	return domain.Errorf(domain.EINVALID, domain.ReasonInvalidParam, "ending_before",
		"You may only specify one of these parameters: starting_after, ending_before.")
}

func tooManyIDs(n int) error {
	return domain.Errorf(domain.EINVALID, domain.ReasonInvalidParam, "ids",
		"You may ask for at most %d ids, but you gave %d.", domain.MaxListLimit, n)
}
