package domain

import (
	"maps"
	"time"

	"github.com/filelinks/filelinks/events"
)

// Link is the state of the link aggregate. The zero Link is a link that does
// not exist yet.
type Link struct {
	ID        string
	Mode      events.Mode
	FileID    string
	Token     string
	Created   time.Time
	ExpiresAt *time.Time // nil: never expires
	ExpiredAt *time.Time // set once LinkExpired was applied
	DeletedAt *time.Time // set once LinkDeleted was applied
	Metadata  map[string]string
	Version   uint64 // number of events applied
}

// Exists reports whether the link was created and not deleted.
func (l Link) Exists() bool { return l.Version > 0 && l.DeletedAt == nil }

// Expired reports whether the link is expired at now: once a LinkExpired was
// applied, or once now reaches ExpiresAt, whichever comes first. Every read
// uses this, so no read waits for the expirer.
func (l Link) Expired(now time.Time) bool {
	return l.ExpiredAt != nil || (l.ExpiresAt != nil && !now.Before(*l.ExpiresAt))
}

// FromState returns the Link that an event's state snapshot describes.
func FromState(s events.LinkState) Link {
	return Link{
		ID:        s.ID,
		Mode:      s.Mode,
		FileID:    s.FileID,
		Token:     s.Token,
		Created:   s.Created,
		ExpiresAt: s.ExpiresAt,
		ExpiredAt: s.ExpiredAt,
		DeletedAt: s.DeletedAt,
		Metadata:  s.Metadata,
		Version:   s.Version,
	}
}

// State returns the snapshot of l that is stored with each event.
func (l Link) State() events.LinkState {
	md := l.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return events.LinkState{
		ID:        l.ID,
		Mode:      l.Mode,
		FileID:    l.FileID,
		Token:     l.Token,
		Created:   l.Created,
		ExpiresAt: l.ExpiresAt,
		ExpiredAt: l.ExpiredAt,
		DeletedAt: l.DeletedAt,
		Metadata:  md,
		Version:   l.Version,
	}
}

// Evolve returns the state after e. It trusts e (events are facts) and never
// modifies l's metadata map in place.
func Evolve(l Link, e events.Event) Link {
	at := e.Time
	switch p := e.Payload.(type) {
	case events.LinkCreated:
		l = Link{
			ID:        e.LinkID,
			Mode:      e.Mode,
			FileID:    p.FileID,
			Token:     p.Token,
			Created:   at,
			ExpiresAt: p.ExpiresAt,
			Metadata:  maps.Clone(p.Metadata),
		}
	case events.LinkUpdated:
		if p.ExpiresAt != nil {
			l.ExpiresAt = p.ExpiresAt
		}
		if p.ExpiresAtCleared {
			l.ExpiresAt = nil
		}
		md := map[string]string{}
		if !p.MetadataCleared {
			maps.Copy(md, l.Metadata)
		}
		maps.Copy(md, p.MetadataSet)
		for _, k := range p.MetadataUnset {
			delete(md, k)
		}
		l.Metadata = md
	case events.LinkExpired:
		l.ExpiredAt = &at
		if p.Reason == events.ReasonRequested {
			d := p.Deadline
			l.ExpiresAt = &d
		}
	case events.LinkDeleted:
		l.DeletedAt = &at
	}
	if l.Metadata == nil {
		l.Metadata = map[string]string{}
	}
	l.Version = e.Version
	return l
}

// Seal turns the payloads that Decide returned for link id in mode into
// events: it numbers them after state, stamps them with now, audit and the
// given event ids (one per payload), and records the state after each. It
// returns the events and the state after the last one.
func Seal(id string, mode events.Mode, state Link, payloads []events.Payload, now time.Time, audit events.Audit, ids []string) ([]events.Event, Link) {
	out := make([]events.Event, len(payloads))
	for i, p := range payloads {
		e := events.Event{
			Envelope: events.Envelope{
				Schema:  events.Schema,
				ID:      ids[i],
				Type:    p.EventType(),
				LinkID:  id,
				Mode:    mode,
				Version: state.Version + 1,
				Time:    now,
				Audit:   audit,
			},
			Payload: p,
		}
		state = Evolve(state, e)
		e.Link = state.State()
		out[i] = e
	}
	return out, state
}
