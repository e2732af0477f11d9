package events

import (
	"strconv"
	"time"
)

// appendEvent appends e's envelope, with Schema, Type and Data taken from
// the payload, as json.Marshal writes it (field order, escaping, times,
// sorted metadata keys, the payload's omitempty fields). It reports false
// when it meets what it does not write (a time not in UTC or out of
// RFC 3339's years, a payload type of another package); Marshal then
// uses encoding/json. TestMarshalSameAsReflect and FuzzMarshal hold it
// to json.Marshal's bytes.
func appendEvent(b []byte, e *Event) ([]byte, bool) {
	ok := true
	tm := func(t time.Time) {
		if ok {
			b, ok = appendTime(b, t)
		}
	}
	tp := func(t *time.Time) {
		if ok {
			b, ok = appendTimePtr(b, t)
		}
	}
	env := &e.Envelope
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, Schema, 10)
	b = append(b, `,"id":`...)
	b = appendString(b, env.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Payload.EventType())
	b = append(b, `,"link_id":`...)
	b = appendString(b, env.LinkID)
	b = append(b, `,"mode":`...)
	b = appendString(b, string(env.Mode))
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, env.Version, 10)
	b = append(b, `,"time":`...)
	tm(env.Time)
	a := &env.Audit
	b = append(b, `,"audit":{"actor":`...)
	b = appendString(b, a.Actor)
	for _, f := range [...]struct{ name, v string }{
		{`,"key_id":`, a.KeyID}, {`,"request_id":`, a.RequestID}, {`,"idempotency_key":`, a.IdempotencyKey},
	} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendString(b, f.v)
		}
	}
	b = append(b, `},"data":`...)
	switch p := e.Payload.(type) {
	case LinkCreated:
		b = append(b, `{"file_id":`...)
		b = appendString(b, p.FileID)
		b = append(b, `,"token":`...)
		b = appendString(b, p.Token)
		b = append(b, `,"expires_at":`...)
		tp(p.ExpiresAt)
		b = append(b, `,"metadata":`...)
		b = appendStringMap(b, p.Metadata)
		b = append(b, '}')
	case LinkUpdated:
		b = append(b, '{')
		first := true
		sep := func(name string) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, name...)
		}
		if p.ExpiresAt != nil {
			sep(`"expires_at":`)
			tp(p.ExpiresAt)
		}
		if p.ExpiresAtCleared {
			sep(`"expires_at_cleared":true`)
		}
		if p.MetadataCleared {
			sep(`"metadata_cleared":true`)
		}
		if len(p.MetadataSet) > 0 {
			sep(`"metadata_set":`)
			b = appendStringMap(b, p.MetadataSet)
		}
		if len(p.MetadataUnset) > 0 {
			sep(`"metadata_unset":`)
			b = appendStrings(b, p.MetadataUnset)
		}
		b = append(b, '}')
	case LinkExpired:
		b = append(b, `{"reason":`...)
		b = appendString(b, p.Reason)
		b = append(b, `,"deadline":`...)
		tm(p.Deadline)
		b = append(b, '}')
	case LinkDeleted:
		b = append(b, `{}`...)
	default:
		return nil, false
	}
	l := &env.Link
	b = append(b, `,"link":{"id":`...)
	b = appendString(b, l.ID)
	b = append(b, `,"mode":`...)
	b = appendString(b, string(l.Mode))
	b = append(b, `,"file_id":`...)
	b = appendString(b, l.FileID)
	b = append(b, `,"token":`...)
	b = appendString(b, l.Token)
	b = append(b, `,"created":`...)
	tm(l.Created)
	b = append(b, `,"expires_at":`...)
	tp(l.ExpiresAt)
	b = append(b, `,"expired_at":`...)
	tp(l.ExpiredAt)
	b = append(b, `,"deleted_at":`...)
	tp(l.DeletedAt)
	b = append(b, `,"metadata":`...)
	b = appendStringMap(b, l.Metadata)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, l.Version, 10)
	b = append(b, `}}`...)
	return b, ok
}
