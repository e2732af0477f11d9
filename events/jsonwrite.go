package events

import (
	"slices"
	"time"
	"unicode/utf8"
)

// The functions of this file append JSON values to a byte slice exactly as
// encoding/json's Marshal writes them, without reflection, for Marshal's
// envelope writer (appendEvent): encoding/json spends most of its time
// there on reflection and on compacting the nested raw payload. Byte-for-
// byte equality with encoding/json is the contract, held by
// TestAppendString and the other tests of jsonwrite_test.go, and by
// TestMarshalSameAsReflect and FuzzMarshal; a value they refuse
// (appendTime's false) makes Marshal fall back on encoding/json.

const hexDigits = "0123456789abcdef"

// htmlSafe[b] reports whether ASCII byte b is written as itself inside a
// JSON string: encoding/json's htmlSafeSet (Marshal escapes HTML's <, >
// and &).
var htmlSafe = func() (s [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		switch b {
		case '"', '\\', '<', '>', '&':
		default:
			s[b] = true
		}
	}
	return s
}()

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes it: HTML characters as \u003c and the like, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 as escapes.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if htmlSafe[b] {
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
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
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, trailing zeros trimmed). It reports false, with dst
// unchanged, for a time it does not write: one with an offset from UTC
// (written with "+hh:mm", never by this service), or whose year has other
// than four digits (which MarshalJSON refuses).
func appendTime(dst []byte, t time.Time) ([]byte, bool) {
	n := len(dst)
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	if len(dst) < n+len(`"2006-01-02T15:04:05Z`) || dst[n+len(`"2006`)] != '-' || dst[len(dst)-1] != 'Z' {
		return dst[:n], false
	}
	return append(dst, '"'), true
}

// appendTimePtr appends t as appendTime does, or null for nil.
func appendTimePtr(dst []byte, t *time.Time) ([]byte, bool) {
	if t == nil {
		return append(dst, "null"...), true
	}
	return appendTime(dst, *t)
}

// appendStringMap appends m as a JSON object with its keys sorted, as
// json.Marshal writes a map[string]string; nil is null.
func appendStringMap(dst []byte, m map[string]string) []byte {
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
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, m[k])
		}
	}
	return append(dst, '}')
}

// appendStrings appends s as a JSON array of strings; nil is null.
func appendStrings(dst []byte, s []string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, v)
	}
	return append(dst, ']')
}
