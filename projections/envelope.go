package projections

import (
	"bytes"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/filelinks/filelinks/events"
)

// decodeEnvelope returns what events.UnmarshalEnvelope(b) returns, about
// five times faster for the envelopes the service writes.
//
// encoding/json spends most of the projector's decoding time on
// reflection, on validating the whole input before decoding it and on
// copying the payload, which the read model does not need. parseEnvelope
// reads the envelope in one pass, with no reflection. It accepts only
// envelopes it can decode exactly as encoding/json would: known field names
// spelled exactly, each at most once, strings without escapes, integers
// without sign, fraction or exponent, times in UTC ("Z") with at most nine
// fractional digits. For anything else (an escaped string, a field it does
// not know the spelling of, invalid JSON) it gives up, and decodeEnvelope
// falls back on events.UnmarshalEnvelope, so errors and unusual envelopes
// are decoded by the contract's own code. On what it accepts, it applies
// the contract's checks (Envelope.Check). FuzzDecodeEnvelope holds it to
// that.
func decodeEnvelope(b []byte) (events.Envelope, error) {
	var env events.Envelope
	if !parseEnvelope(b, &env) {
		return events.UnmarshalEnvelope(b)
	}
	if err := env.Check(); err != nil {
		return events.Envelope{}, err
	}
	return env, nil
}

// parseEnvelope decodes b into env and reports whether it could; see
// decodeEnvelope. env.Data is a slice of b.
func parseEnvelope(b []byte, env *events.Envelope) bool {
	p := parser{b: b}
	return p.envelope(env)
}

// leanLink is what a Rebuild needs of a link event besides the fields that
// Envelope.Check reads: the rest of the link's state, as slices of the
// event's bytes, so that reading an event allocates almost nothing.
type leanLink struct {
	fileID, token []byte
	times         [3]time.Time // expires_at, expired_at, deleted_at
	has           [3]bool      // which of times are set
	md            []metaEntry[[]byte]
}

// parseLean is parseEnvelope for a Rebuild: it accepts exactly what
// parseEnvelope accepts, but sets only the fields of env that
// Envelope.Check reads and the link's creation time, and the rest of the
// link's state in lean. lean.md keeps the metadata in the order of the
// event, duplicates included (see sortMetadata).
func parseLean(b []byte, env *events.Envelope, lean *leanLink) bool {
	*lean = leanLink{md: lean.md[:0]}
	p := parser{b: b, lean: lean}
	return p.envelope(env)
}

// sortMetadata sorts md by key and keeps the last of equal keys, as
// encoding/json does when it decodes an object into a map.
func sortMetadata(md []metaEntry[[]byte]) []metaEntry[[]byte] {
	slices.SortStableFunc(md, func(a, b metaEntry[[]byte]) int { return bytes.Compare(a.k, b.k) })
	out := md[:0]
	for i := range md {
		if i+1 < len(md) && bytes.Equal(md[i].k, md[i+1].k) {
			continue
		}
		out = append(out, md[i])
	}
	return out
}

func (p *parser) envelope(env *events.Envelope) bool {
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
			env.ID = p.string()
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
	if p.i != len(b) {
		return false
	}
	return true
}

var (
	envelopeFields = []string{"schema", "id", "type", "link_id", "mode", "version", "time", "audit", "data", "link"}
	auditFields    = []string{"actor", "key_id", "request_id", "idempotency_key"}
	linkFields     = []string{"id", "mode", "file_id", "token", "created", "expires_at", "expired_at", "deleted_at", "metadata", "version"}
)

func (p *parser) audit(a *events.Audit) bool {
	var seen uint8
	return p.object(func(key []byte) bool {
		var bit uint8
		switch string(key) {
		case "actor":
			bit = 1 << 0
			if p.lean != nil {
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

func (p *parser) link(l *events.LinkState) bool {
	var seen uint16
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
			if p.lean != nil {
				p.lean.fileID = p.raw()
			} else {
				l.FileID = p.string()
			}
		case "token":
			bit = 1 << 3
			if p.lean != nil {
				p.lean.token = p.raw()
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
			p.setTime(&l.ExpiresAt, 0)
		case "expired_at":
			bit = 1 << 6
			p.setTime(&l.ExpiredAt, 1)
		case "deleted_at":
			bit = 1 << 7
			p.setTime(&l.DeletedAt, 2)
		case "metadata":
			bit = 1 << 8
			if p.lean != nil {
				p.leanMetadata()
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

// leanMetadata reads null or an object of strings into p.lean.md.
func (p *parser) leanMetadata() {
	if p.literal("null") {
		return
	}
	if !p.object(func(key []byte) bool {
		p.lean.md = append(p.lean.md, metaEntry[[]byte]{k: key, v: p.raw()})
		return !p.failed
	}) {
		p.failed = true
	}
}

// setString reads a string into *dst, or, for a lean parse, only checks
// it.
func (p *parser) setString(dst *string) {
	if p.lean != nil {
		p.raw()
		return
	}
	*dst = p.string()
}

// setTime reads null or a time into *dst, or, for a lean parse, into
// p.lean.times[i].
func (p *parser) setTime(dst **time.Time, i int) {
	if p.lean == nil {
		*dst = p.timePtr()
		return
	}
	if p.literal("null") {
		return
	}
	if !p.time(&p.lean.times[i]) {
		p.failed = true
	}
	p.lean.has[i] = true
}

// parser reads JSON from b at i. The methods that return a value set failed
// instead of returning false; every caller checks it before going on.
type parser struct {
	b      []byte
	i      int
	failed bool
	lean   *leanLink // set for parseLean
	linkID string    // the envelope's link_id, once read
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming
// it if so.
func (p *parser) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads an object, calling field for each key with the parser at
// the key's value. Keys must be plain strings (see rawString).
func (p *parser) object(field func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		p.space()
		key, ok := p.rawString()
		if !ok || !p.next(':') {
			return false
		}
		p.space()
		if !field(key) {
			return false
		}
		if p.next(',') {
			continue
		}
		return p.next('}')
	}
}

// skipUnknown skips the value of a key that names no field, as
// encoding/json does, unless the key matches a field but for case, which
// encoding/json would decode into that field.
func (p *parser) skipUnknown(key []byte, fields []string) bool {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return false
		}
	}
	return p.skipValue(0)
}

// rawString reads a string with no escape sequence and no invalid UTF-8,
// whose bytes are therefore its value, and returns them (a slice of b).
func (p *parser) rawString() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for i := start; i < len(p.b); i++ {
		c := p.b[i]
		switch {
		case c == '"':
			s := p.b[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = i + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// raw reads a string value (see rawString) as a slice of b.
func (p *parser) raw() []byte {
	s, ok := p.rawString()
	if !ok {
		p.failed = true
	}
	return s
}

// string reads a string value (see rawString).
func (p *parser) string() string {
	s, ok := p.rawString()
	if !ok {
		p.failed = true
		return ""
	}
	return string(s)
}

// mode reads a string, without allocating for the two modes.
func (p *parser) mode() events.Mode {
	s, ok := p.rawString()
	switch {
	case !ok:
		p.failed = true
		return ""
	case string(s) == string(events.ModeLive):
		return events.ModeLive
	case string(s) == string(events.ModeTest):
		return events.ModeTest
	}
	return events.Mode(s)
}

// typeName reads a string, without allocating for the known types.
func (p *parser) typeName() string {
	s, ok := p.rawString()
	if !ok {
		p.failed = true
		return ""
	}
	for _, t := range [...]string{events.TypeLinkCreated, events.TypeLinkUpdated, events.TypeLinkExpired, events.TypeLinkDeleted} {
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

// uint reads an integer of at most digits digits, with no sign, fraction
// or exponent: what encoding/json decodes into an int or uint64 the same
// way, without overflow.
func (p *parser) uint(digits int) (uint64, bool) {
	start := p.i
	var n uint64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + uint64(p.b[p.i]-'0')
		p.i++
	}
	switch l := p.i - start; {
	case l == 0 || l > digits, l > 1 && p.b[start] == '0':
		return 0, false
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

// literal consumes word (true, false or null) if it comes next.
func (p *parser) literal(word string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
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

// time reads a time as time.Time.MarshalJSON writes it in UTC:
// "2006-01-02T15:04:05.999999999Z", with 0 to 9 fractional digits. Other
// RFC 3339 forms, which time.Time.UnmarshalJSON also reads, are refused.
func (p *parser) time(t *time.Time) bool {
	const minLen = len(`"2006-01-02T15:04:05Z"`)
	b := p.b[p.i:]
	if len(b) < minLen || b[0] != '"' || b[5] != '-' || b[8] != '-' || b[11] != 'T' || b[14] != ':' || b[17] != ':' {
		return false
	}
	year, ok1 := digits(b[1:5])
	month, ok2 := digits(b[6:8])
	day, ok3 := digits(b[9:11])
	hour, ok4 := digits(b[12:14])
	minute, ok5 := digits(b[15:17])
	sec, ok6 := digits(b[18:20])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	n := 20
	nsec := 0
	if b[n] == '.' {
		n++
		start := n
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			nsec = nsec*10 + int(b[n]-'0')
			n++
		}
		if n == start || n-start > 9 {
			return false
		}
		for range 9 - (n - start) {
			nsec *= 10
		}
	}
	if n+1 >= len(b) || b[n] != 'Z' || b[n+1] != '"' {
		return false
	}
	*t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	p.i += n + 2
	return true
}

// digits reads a fixed number of decimal digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// maxDepth bounds the nesting skipValue follows before giving up.
const maxDepth = 64

// skipValue reads any JSON value, checking that it is valid JSON, with
// white space before it.
func (p *parser) skipValue(depth int) bool {
	p.space()
	if p.i >= len(p.b) || depth > maxDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		if p.next('}') {
			return true
		}
		for {
			p.space()
			if !p.skipString() || !p.next(':') || !p.skipValue(depth+1) {
				return false
			}
			if p.next(',') {
				continue
			}
			return p.next('}')
		}
	case c == '[':
		p.i++
		if p.next(']') {
			return true
		}
		for {
			if !p.skipValue(depth + 1) {
				return false
			}
			if p.next(',') {
				continue
			}
			return p.next(']')
		}
	case c == '"':
		return p.skipString()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.skipNumber()
	}
	return false
}

// skipString reads a valid JSON string, escapes included.
func (p *parser) skipString() bool {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return false
	}
	for i := p.i + 1; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			p.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(p.b) {
				return false
			}
			switch p.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(p.b) {
					return false
				}
				for _, h := range p.b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

// skipNumber reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) skipNumber() bool {
	b, i := p.b, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	run := func() int {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - start
	}
	switch n := run(); {
	case n == 0, n > 1 && b[i-n] == '0':
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if run() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if run() == 0 {
			return false
		}
	}
	p.i = i
	return true
}
