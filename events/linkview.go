package events

import (
	"bytes"
	"slices"
	"time"
)

// A LinkView is a link event as a reader of the whole stream needs it:
// who the event is about and the link's state after it, without the audit,
// the payload or the event's own id. A reader that decodes every event
// (a read model, a schedule of expiries) decodes each into one reused
// LinkView with DecodeLinkView, which allocates almost nothing.
//
// FileID, Token and Metadata are slices of the event's bytes: they are
// valid only as long as those bytes are, and a reader that keeps them
// copies them.
type LinkView struct {
	Type    string // one of the Type constants
	LinkID  string
	Mode    Mode
	Version uint64
	// Created, ExpiresAt, ExpiredAt, DeletedAt, FileID, Token and Metadata
	// are the link's state after the event (Envelope.Link).
	Created                         time.Time
	ExpiresAt, ExpiredAt, DeletedAt NullTime
	FileID, Token                   []byte
	// Metadata holds the entries of the link's metadata sorted by key, one
	// per key (the last of a key repeated in the event, as encoding/json
	// keeps); empty for null.
	Metadata []MetadataEntry
}

// NullTime is a time that may be null.
type NullTime struct {
	Time  time.Time
	Valid bool // false for null
}

func nullTime(t *time.Time) NullTime {
	if t == nil {
		return NullTime{}
	}
	return NullTime{Time: *t, Valid: true}
}

// MetadataEntry is a key and value of a link's metadata.
type MetadataEntry struct {
	Key, Value []byte
}

// DecodeLinkView decodes a link event into v, overwriting it but reusing
// the memory of v.Metadata. It accepts and refuses exactly the events that
// UnmarshalEnvelope does, with the same errors (wrapping ErrMalformed or
// ErrUnsupported), and v holds what UnmarshalEnvelope's Envelope says.
//
// It reads with parseEnvelope, keeping the parts of the link's state as
// slices of b; what that parser does not accept is decoded by
// UnmarshalEnvelope and copied into v.
func DecodeLinkView(b []byte, v *LinkView) error {
	clear(v.Metadata)
	md := v.Metadata[:0]
	*v = LinkView{Metadata: md}
	var env Envelope
	p := parser{b: b, view: v}
	if p.envelope(&env) {
		if err := env.check(p.hasID); err != nil {
			*v = LinkView{Metadata: md[:0]}
			return err
		}
		v.Metadata = sortMetadata(v.Metadata)
		v.setHead(&env)
		return nil
	}
	*v = LinkView{Metadata: md[:0]}
	env, err := unmarshalEnvelopeJSON(b)
	if err != nil {
		return err
	}
	v.setHead(&env)
	l := &env.Link
	v.FileID, v.Token = []byte(l.FileID), []byte(l.Token)
	v.ExpiresAt, v.ExpiredAt, v.DeletedAt = nullTime(l.ExpiresAt), nullTime(l.ExpiredAt), nullTime(l.DeletedAt)
	for k, val := range l.Metadata {
		v.Metadata = append(v.Metadata, MetadataEntry{Key: []byte(k), Value: []byte(val)})
	}
	slices.SortFunc(v.Metadata, func(a, b MetadataEntry) int { return bytes.Compare(a.Key, b.Key) })
	return nil
}

// setHead sets the parts of v that DecodeLinkView reads into an Envelope.
func (v *LinkView) setHead(env *Envelope) {
	v.Type, v.LinkID, v.Mode, v.Version, v.Created = env.Type, env.LinkID, env.Mode, env.Version, env.Link.Created
}

// sortMetadata sorts md by key and keeps the last of equal keys, as
// encoding/json does when it decodes an object into a map.
func sortMetadata(md []MetadataEntry) []MetadataEntry {
	if len(md) < 2 {
		return md
	}
	slices.SortStableFunc(md, func(a, b MetadataEntry) int { return bytes.Compare(a.Key, b.Key) })
	out := md[:0]
	for i := range md {
		if i+1 < len(md) && bytes.Equal(md[i].Key, md[i+1].Key) {
			continue
		}
		out = append(out, md[i])
	}
	return out
}
