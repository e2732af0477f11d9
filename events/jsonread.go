package events

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// The reading half of the contract's JSON: a parser of the subset of JSON
// that encoding/json decodes into the envelope's types in exactly one way,
// with no reflection and no copy of what a reader does not keep. Its
// callers (decode.go) give up, and leave the input to encoding/json, as
// soon as they meet anything else; see parseEnvelope.

// parser reads JSON from b at i. The methods that return a value set failed
// instead of returning false; every caller checks it before going on.
type parser struct {
	b      []byte
	i      int
	failed bool
	// view, set by DecodeLinkView, receives the link's file id, token,
	// times and metadata (as slices of b) instead of the Envelope.
	view   *LinkView
	hasID  bool   // the envelope's id was read and is not empty (view only)
	linkID string // the envelope's link_id, once read
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
