package events

import "time"

// parseEnvelope decodes b into env and reports whether it could. It reads
// the envelope in one pass, with no reflection, which makes it about five
// times faster than encoding/json on the envelopes Marshal writes:
// encoding/json spends most of its time on reflection, on validating the
// whole input before decoding it and on copying the payload.
//
// It accepts only envelopes it can decode exactly as encoding/json would:
// known field names spelled exactly, each at most once, strings without
// escapes, integers without sign, fraction or exponent, times in UTC ("Z")
// with at most nine fractional digits, unknown fields skipped. For anything
// else (an escaped string, a field name that differs from a known one only
// by case, invalid JSON) it gives up, and its callers decode b with
// encoding/json, so errors and unusual envelopes are decoded by the
// reference decoder. FuzzUnmarshalEnvelope holds it to that. env.Data is a
// slice of b.
func parseEnvelope(b []byte, env *Envelope) bool {
	p := parser{b: b}
	return p.envelope(env)
}

var (
	envelopeFields = []string{"schema", "id", "type", "link_id", "mode", "version", "time", "audit", "data", "link"}
	auditFields    = []string{"actor", "key_id", "request_id", "idempotency_key"}
	linkFields     = []string{"id", "mode", "file_id", "token", "created", "expires_at", "expired_at", "deleted_at", "metadata", "version"}
)

// envelope reads an envelope into env, or, for a view, what check reads
// into env and the link's other parts into p.view.
func (p *parser) envelope(env *Envelope) bool {
	b := p.b
	var seen uint16
	ok := p.object(func(key []byte) bool {
		var bit uint16
		switch string(key) {
		case "schema":
			bit = 1 << 0
			n, ok := p.uint(18)
			env.Schema = int(n)
			if !ok {
				return false
			}
		case "id":
			bit = 1 << 1
			if p.view != nil {
				p.hasID = len(p.raw()) > 0
			} else {
				env.ID = p.string()
			}
		case "type":
			bit = 1 << 2
			env.Type = p.typeName()
		case "link_id":
			bit = 1 << 3
			env.LinkID = p.string()
			p.linkID = env.LinkID
		case "mode":
			bit = 1 << 4
			env.Mode = p.mode()
		case "version":
			bit = 1 << 5
			n, ok := p.uint(19)
			env.Version = n
			if !ok {
				return false
			}
		case "time":
			bit = 1 << 6
			if !p.time(&env.Time) {
				return false
			}
		case "audit":
			bit = 1 << 7
			if !p.audit(&env.Audit) {
				return false
			}
		case "data":
			bit = 1 << 8
			start := p.i
			if !p.skipValue(0) {
				return false
			}
			env.Data = b[start:p.i:p.i]
		case "link":
			bit = 1 << 9
			if !p.link(&env.Link) {
				return false
			}
		default:
			return p.skipUnknown(key, envelopeFields)
		}
		if seen&bit != 0 || p.failed {
			return false
		}
		seen |= bit
		return true
	})
	if !ok {
		return false
	}
	p.space()
	return p.i == len(b)
}

func (p *parser) audit(a *Audit) bool {
	var seen uint8
	return p.object(func(key []byte) bool {
		var bit uint8
		switch string(key) {
		case "actor":
			bit = 1 << 0
			if p.view != nil {
				p.raw()
			} else {
				a.Actor = p.actor()
			}
		case "key_id":
			bit = 1 << 1
			p.setString(&a.KeyID)
		case "request_id":
			bit = 1 << 2
			p.setString(&a.RequestID)
		case "idempotency_key":
			bit = 1 << 3
			p.setString(&a.IdempotencyKey)
		default:
			return p.skipUnknown(key, auditFields)
		}
		if seen&bit != 0 || p.failed {
			return false
		}
		seen |= bit
		return true
	})
}

func (p *parser) link(l *LinkState) bool {
	var seen uint16
	v := p.view
	return p.object(func(key []byte) bool {
		var bit uint16
		switch string(key) {
		case "id":
			bit = 1 << 0
			// Usually link_id again: share its string.
			if id := p.raw(); string(id) == p.linkID && p.linkID != "" {
				l.ID = p.linkID
			} else if !p.failed {
				l.ID = string(id)
			}
		case "mode":
			bit = 1 << 1
			l.Mode = p.mode()
		case "file_id":
			bit = 1 << 2
			if v != nil {
				v.FileID = p.raw()
			} else {
				l.FileID = p.string()
			}
		case "token":
			bit = 1 << 3
			if v != nil {
				v.Token = p.raw()
			} else {
				l.Token = p.string()
			}
		case "created":
			bit = 1 << 4
			if !p.time(&l.Created) {
				return false
			}
		case "expires_at":
			bit = 1 << 5
			if v != nil {
				p.nullTime(&v.ExpiresAt)
			} else {
				l.ExpiresAt = p.timePtr()
			}
		case "expired_at":
			bit = 1 << 6
			if v != nil {
				p.nullTime(&v.ExpiredAt)
			} else {
				l.ExpiredAt = p.timePtr()
			}
		case "deleted_at":
			bit = 1 << 7
			if v != nil {
				p.nullTime(&v.DeletedAt)
			} else {
				l.DeletedAt = p.timePtr()
			}
		case "metadata":
			bit = 1 << 8
			if v != nil {
				p.viewMetadata()
			} else {
				l.Metadata = p.metadata()
			}
		case "version":
			bit = 1 << 9
			n, ok := p.uint(19)
			l.Version = n
			if !ok {
				return false
			}
		default:
			return p.skipUnknown(key, linkFields)
		}
		if seen&bit != 0 || p.failed {
			return false
		}
		seen |= bit
		return true
	})
}

// metadata reads null (a nil map) or an object of strings.
func (p *parser) metadata() map[string]string {
	if p.literal("null") {
		return nil
	}
	md := map[string]string{}
	if !p.object(func(key []byte) bool {
		k := string(key)
		md[k] = p.string()
		return !p.failed
	}) {
		p.failed = true
	}
	return md
}

// viewMetadata reads null or an object of strings into p.view.Metadata,
// in the order of the input, duplicates included.
func (p *parser) viewMetadata() {
	if p.literal("null") {
		return
	}
	if !p.object(func(key []byte) bool {
		p.view.Metadata = append(p.view.Metadata, MetadataEntry{Key: key, Value: p.raw()})
		return !p.failed
	}) {
		p.failed = true
	}
}

// setString reads a string into *dst, or, for a view, only checks it.
func (p *parser) setString(dst *string) {
	if p.view != nil {
		p.raw()
		return
	}
	*dst = p.string()
}

// nullTime reads null or a time into *dst.
func (p *parser) nullTime(dst *NullTime) {
	if p.literal("null") {
		return
	}
	if !p.time(&dst.Time) {
		p.failed = true
	}
	dst.Valid = true
}

// timePtr reads null (nil) or a time.
func (p *parser) timePtr() *time.Time {
	if p.literal("null") {
		return nil
	}
	t := new(time.Time)
	if !p.time(t) {
		p.failed = true
	}
	return t
}

// mode reads a string, without allocating for the two modes.
func (p *parser) mode() Mode {
	s, ok := p.rawString()
	switch {
	case !ok:
		p.failed = true
		return ""
	case string(s) == string(ModeLive):
		return ModeLive
	case string(s) == string(ModeTest):
		return ModeTest
	}
	return Mode(s)
}

// typeName reads a string, without allocating for the known types.
func (p *parser) typeName() string {
	s, ok := p.rawString()
	if !ok {
		p.failed = true
		return ""
	}
	for _, t := range [...]string{TypeLinkCreated, TypeLinkUpdated, TypeLinkExpired, TypeLinkDeleted} {
		if string(s) == t {
			return t
		}
	}
	return string(s)
}

// actor reads a string, without allocating for the usual actors.
func (p *parser) actor() string {
	s, ok := p.rawString()
	switch {
	case !ok:
		p.failed = true
		return ""
	case string(s) == "api":
		return "api"
	case string(s) == "expirer":
		return "expirer"
	}
	return string(s)
}
