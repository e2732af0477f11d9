package domain

import (
	"maps"
	"time"

	"github.com/filelinks/filelinks/events"
)

// Command is one of CreateLink, UpdateLink, ExpireLink and DeleteLink.
type Command interface{ command() }

// CreateLink makes a new link to File. LinkID and Token are chosen by the
// caller; File holds the facts the caller looked up about the file.
type CreateLink struct {
	Mode      events.Mode
	LinkID    string
	Token     string
	File      File
	ExpiresAt *time.Time // nil: never expires
	Metadata  MetadataPatch
}

// LinkSettings are the settings of a new link: its expiry (nil: never) and
// its metadata.
type LinkSettings struct {
	ExpiresAt *time.Time
	Metadata  MetadataPatch
}

// settle checks the settings at now and returns the link's expiry, to the
// second, and its metadata.
func (s LinkSettings) settle(now time.Time) (*time.Time, map[string]string, error) {
	var expires *time.Time
	if s.ExpiresAt != nil {
		t, err := expiry(*s.ExpiresAt, now)
		if err != nil {
			return nil, nil, err
		}
		expires = &t
	}
	if err := s.Metadata.validate(); err != nil {
		return nil, nil, err
	}
	md, _, _, _ := s.Metadata.apply(nil)
	if len(md) > MaxMetadataKeys {
		return nil, nil, tooManyKeys(len(md))
	}
	return expires, md, nil
}

// ExpiryAction says what an UpdateLink does to expires_at.
type ExpiryAction int

const (
	ExpiryKeep  ExpiryAction = iota // leave it as it is
	ExpirySet                       // set it to a future time
	ExpiryClear                     // remove it: the link never expires
	ExpiryNow                       // expire the link at once
)

// UpdateLink changes a link's expiry and metadata.
type UpdateLink struct {
	Expiry    ExpiryAction
	ExpiresAt time.Time // for ExpirySet
	Metadata  MetadataPatch
}

// ExpireLink is sent by the expirer when Deadline, the expires_at it
// scheduled, has come.
type ExpireLink struct {
	Deadline time.Time
}

// DeleteLink deletes a link for good.
type DeleteLink struct{}

func (CreateLink) command() {}
func (UpdateLink) command() {}
func (ExpireLink) command() {}
func (DeleteLink) command() {}

// Decide returns the payloads of the events that cmd causes on state at now,
// or an *Error. No events and no error means the command changes nothing.
//
// state.ID and state.Mode must name the link the command is for even when it
// does not exist (Version 0): the loader sets them, so errors can name it.
func Decide(state Link, cmd Command, now time.Time) ([]events.Payload, error) {
	switch c := cmd.(type) {
	case CreateLink:
		return decideCreate(state, c, now)
	case UpdateLink:
		return decideUpdate(state, c, now)
	case ExpireLink:
		return decideExpire(state, c, now)
	case DeleteLink:
		if !state.Exists() {
			return nil, linkNotFound(state)
		}
		return []events.Payload{events.LinkDeleted{}}, nil
	}
	return nil, Errorf(EINTERNAL, ReasonInvalidCommand, "", "unknown command %T", cmd)
}

// SameCreate reports whether cmd, decided at the time at for a new link,
// makes the link that created records (the token aside, which is random):
// whether a retry of a create with an idempotency key asks for what the
// first request did.
func SameCreate(created events.LinkCreated, cmd CreateLink, at time.Time) bool {
	cmd.Token = created.Token
	payloads, err := decideCreate(Link{ID: cmd.LinkID, Mode: cmd.Mode}, cmd, at)
	if err != nil || len(payloads) != 1 {
		return false
	}
	again, ok := payloads[0].(events.LinkCreated)
	return ok && again.FileID == created.FileID && maps.Equal(again.Metadata, created.Metadata) &&
		(again.ExpiresAt == nil) == (created.ExpiresAt == nil) &&
		(again.ExpiresAt == nil || again.ExpiresAt.Equal(*created.ExpiresAt))
}

func decideCreate(state Link, c CreateLink, now time.Time) ([]events.Payload, error) {
	switch {
	case state.Version > 0:
		return nil, Errorf(ECONFLICT, ReasonLinkExists, "", "A file link with id '%s' already exists.", c.LinkID)
	case !c.Mode.Valid() || !ValidID(c.LinkID) || c.Token == "":
		return nil, Errorf(EINTERNAL, ReasonInvalidCommand, "", "create: mode, link id and token are required")
	case c.File.ID == "":
		return nil, RequireFile(c.File.ID)
	case !c.File.Found || c.File.Mode != c.Mode:
		return nil, fileNotFound("file", c.File.ID)
	case !Linkable(c.File.Purpose):
		return nil, Errorf(EINVALID, ReasonFileNotLinkable, "file",
			"Files with purpose '%s' cannot be linked to.", c.File.Purpose)
	}
	expires, md, err := LinkSettings{ExpiresAt: c.ExpiresAt, Metadata: c.Metadata}.settle(now)
	if err != nil {
		return nil, err
	}
	return []events.Payload{events.LinkCreated{
		FileID:    c.File.ID,
		Token:     c.Token,
		ExpiresAt: expires,
		Metadata:  md,
	}}, nil
}

func decideUpdate(state Link, c UpdateLink, now time.Time) ([]events.Payload, error) {
	if !state.Exists() {
		return nil, linkNotFound(state)
	}
	if state.Expired(now) {
		return nil, Errorf(EINVALID, ReasonLinkExpired, "",
			"The file link '%s' has expired and can no longer be updated.", state.ID)
	}
	if err := c.Metadata.validate(); err != nil {
		return nil, err
	}
	md, cleared, set, unset := c.Metadata.apply(state.Metadata)
	if len(md) > MaxMetadataKeys {
		return nil, tooManyKeys(len(md))
	}
	upd := events.LinkUpdated{MetadataCleared: cleared, MetadataSet: set, MetadataUnset: unset}
	var expire *events.LinkExpired
	switch c.Expiry {
	case ExpirySet:
		t, err := expiry(c.ExpiresAt, now)
		if err != nil {
			return nil, err
		}
		if state.ExpiresAt == nil || !state.ExpiresAt.Equal(t) {
			upd.ExpiresAt = &t
		}
	case ExpiryClear:
		upd.ExpiresAtCleared = state.ExpiresAt != nil
	case ExpiryNow:
		expire = &events.LinkExpired{Reason: events.ReasonRequested, Deadline: now.UTC().Truncate(time.Second)}
	}
	var out []events.Payload
	if upd.ExpiresAt != nil || upd.ExpiresAtCleared || upd.MetadataCleared || len(upd.MetadataSet) > 0 || len(upd.MetadataUnset) > 0 {
		out = append(out, upd)
	}
	if expire != nil {
		out = append(out, *expire)
	}
	return out, nil
}

func decideExpire(state Link, c ExpireLink, now time.Time) ([]events.Payload, error) {
	switch {
	case !state.Exists(), state.ExpiredAt != nil:
		return nil, nil // gone or already expired: nothing to do
	case state.ExpiresAt == nil || !state.ExpiresAt.Equal(c.Deadline):
		return nil, nil // the deadline was moved or cleared since it was scheduled
	case now.Before(c.Deadline):
		return nil, Errorf(ECONFLICT, ReasonNotDue, "",
			"link %s is not due until %s", state.ID, c.Deadline.Format(time.RFC3339))
	}
	return []events.Payload{events.LinkExpired{Reason: events.ReasonDeadline, Deadline: c.Deadline}}, nil
}

// RequireFile checks that a create names the file to link to, the one rule
// of a create that holds before anything is looked up: callers check it
// first, so that a request without a file is told so whatever else is
// wrong with it.
func RequireFile(fileID string) error {
	if fileID == "" {
		return Errorf(EINVALID, ReasonFileMissing, "file", "Missing required param: file.")
	}
	return nil
}

func linkNotFound(state Link) error { return LinkNotFound(state.ID) }

// LinkNotFound is the error for a link id that names no link of the mode.
func LinkNotFound(id string) *Error {
	return Errorf(ENOTFOUND, ReasonLinkNotFound, "id", "No such file link: '%s'", id)
}

// FileNotFound is the error for a file id that names no file of the mode.
func FileNotFound(id string) *Error { return fileNotFound("id", id) }

func fileNotFound(param, id string) *Error {
	return Errorf(ENOTFOUND, ReasonFileNotFound, param, "No such file: '%s'", id)
}

// expiry returns an expires_at given at now as it is stored, to the
// second, or an error unless it is in the future.
func expiry(t, now time.Time) (time.Time, error) {
	t = t.UTC().Truncate(time.Second)
	if !t.After(now) {
		return time.Time{}, expiresAtPast()
	}
	return t, nil
}

func expiresAtPast() error {
	return Errorf(EINVALID, ReasonExpiresAtPast, "expires_at", "The expires_at timestamp must be in the future.")
}
