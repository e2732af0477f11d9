// Package jsonenc appends JSON values to a byte slice exactly as
// encoding/json's Marshal writes them, without reflection.
//
// It exists for the two encodings on the path of every create: the event
// envelope and the file_link response. encoding/json spends most of its
// time there on reflection and on compacting nested raw JSON; these
// functions write the same bytes directly. Byte-for-byte equality with
// encoding/json is the contract, held by the tests of this package and of
// its callers (fuzzed against json.Marshal); a caller that meets a value
// these functions refuse (AppendTime's false) falls back on encoding/json.
package jsonenc

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// safe[b] reports whether ASCII byte b is written as itself inside a JSON
// string: encoding/json's htmlSafeSet (Marshal escapes HTML's <, > and &).
var safe = func() (s [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		switch b {
		case '"', '\\', '<', '>', '&':
		default:
			s[b] = true
		}
	}
	return s
}()

// AppendString appends s as a JSON string, escaped as json.Marshal
// escapes it: HTML characters as \u003c and the like, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 as escapes.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, trailing zeros trimmed). It reports false, with dst
// unchanged, for a time it does not write: one with an offset from UTC
// (written with "+hh:mm", never by this service), or whose year has other
// than four digits (which MarshalJSON refuses).
func AppendTime(dst []byte, t time.Time) ([]byte, bool) {
	n := len(dst)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	if len(dst) < n+len(`"2006-01-02T15:04:05Z`) || dst[n+len(`"2006`)] != '-' || dst[len(dst)-1] != 'Z' {
		return dst[:n], false
	}
	return append(dst, '"'), true
}

// AppendTimePtr appends t as AppendTime does, or null for nil.
func AppendTimePtr(dst []byte, t *time.Time) ([]byte, bool) {
	if t == nil {
		return append(dst, "null"...), true
	}
	return AppendTime(dst, *t)
}

// AppendStringMap appends m as a JSON object with its keys sorted, as
// json.Marshal writes a map[string]string; nil is null.
func AppendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	if len(m) > 0 {
		var arr [16]string
		keys := arr[:0]
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = AppendString(dst, m[k])
		}
	}
	return append(dst, '}')
}

// AppendStrings appends s as a JSON array of strings; nil is null.
func AppendStrings(dst []byte, s []string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, v)
	}
	return append(dst, ']')
}

// AppendUint appends n in decimal.
func AppendUint(dst []byte, n uint64) []byte { return strconv.AppendUint(dst, n, 10) }

// AppendInt appends n in decimal.
func AppendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// AppendBool appends true or false.
func AppendBool(dst []byte, v bool) []byte { return strconv.AppendBool(dst, v) }
