package events

import "strings"

// SubjectPrefix is the first part of every event subject. A link's events
// are stored under SubjectPrefix.<mode>.<link id>.<class> (SubjectOf), so a
// subscriber can take all events (filelinks.links.>), one mode's
// (filelinks.links.live.>), one link's (LinkFilter) or only those that bear
// on expiry (SubjectsExpiry).
const SubjectPrefix = "filelinks.links"

// SubjectAll matches every link event.
const SubjectAll = SubjectPrefix + ".>"

// The class of an event, the last token of its subject: ClassExpiry for an
// event that sets, moves or clears a link's expires_at or ends the link
// (LinkExpired, LinkDeleted), ClassOther for the rest (a LinkCreated without
// expires_at, a LinkUpdated of metadata only). A scheduler of expiries needs
// the first kind only, and the server filters them for it.
const (
	ClassExpiry = "expiry"
	ClassOther  = "other"
)

// SubjectsExpiry matches the events of class ClassExpiry.
const SubjectsExpiry = SubjectPrefix + ".*.*." + ClassExpiry

// ClassOf returns the class of an event with payload p.
func ClassOf(p Payload) string {
	switch p := p.(type) {
	case LinkCreated:
		if p.ExpiresAt == nil {
			return ClassOther
		}
	case *LinkCreated:
		if p.ExpiresAt == nil {
			return ClassOther
		}
	case LinkUpdated:
		if p.ExpiresAt == nil && !p.ExpiresAtCleared {
			return ClassOther
		}
	case *LinkUpdated:
		if p.ExpiresAt == nil && !p.ExpiresAtCleared {
			return ClassOther
		}
	}
	return ClassExpiry
}

// Subject returns the stem of a link's subjects, SubjectPrefix.<mode>.<link
// id>: no event is stored on it, each on the stem and its class (SubjectOf).
func Subject(mode Mode, linkID string) string { return linkSubject(mode, linkID, "") }

// SubjectOf returns the subject of one event of a link: Subject followed by
// the event's class.
func SubjectOf(mode Mode, linkID, class string) string { return linkSubject(mode, linkID, class) }

// linkSubject joins the prefix, mode, link id and class (if any) with dots.
func linkSubject(mode Mode, linkID, class string) string {
	var b strings.Builder
	b.Grow(len(SubjectPrefix) + len(mode) + len(linkID) + len(class) + 3)
	b.WriteString(SubjectPrefix)
	b.WriteByte('.')
	b.WriteString(string(mode))
	b.WriteByte('.')
	b.WriteString(linkID)
	if class != "" {
		b.WriteByte('.')
		b.WriteString(class)
	}
	return b.String()
}

// LinkFilter matches every event of one link, whatever its class.
func LinkFilter(mode Mode, linkID string) string {
	return SubjectOf(mode, linkID, "*")
}
