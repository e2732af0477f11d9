package events

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

var strSeeds = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "café ✓ 日本", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "line\u2028para\u2029",
	"\U0001F600", "\u00a0",
}

func sameAsJSON(t *testing.T, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", v, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding %#v\n got %s\nwant %s", v, got, want)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range strSeeds {
		sameAsJSON(t, appendString(nil, s), s)
	}
	// Every single byte, and every byte after a multi-byte prefix.
	for c := range 256 {
		s := string([]byte{byte(c)})
		sameAsJSON(t, appendString(nil, s), s)
		s = string([]byte{0xe2, 0x80, byte(c)})
		sameAsJSON(t, appendString(nil, s), s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range strSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsJSON(t, appendString([]byte("x"), s)[1:], s)
	})
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		{},
		time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 22, 20, 0, 0, 100, time.UTC),
		time.Date(2026, 11, 22, 20, 0, 0, 123456789, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Unix(1e9, 5e8).UTC(),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("zero", 0)), // offset 0 is written as Z
	} {
		got, ok := appendTime(nil, tm)
		if !ok {
			t.Fatalf("appendTime(%v) refused a UTC time in range", tm)
		}
		sameAsJSON(t, got, tm)
	}
	// What it refuses, it leaves to encoding/json, and leaves dst alone.
	for _, tm := range []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, ok := appendTime([]byte("x"), tm); ok || string(got) != "x" {
			t.Fatalf("appendTime(%v) = %q, %v; want dst unchanged and false", tm, got, ok)
		}
	}
	if got, ok := appendTimePtr(nil, nil); !ok || string(got) != "null" {
		t.Fatalf("appendTimePtr(nil) = %q, %v", got, ok)
	}
}

func TestAppendStringMap(t *testing.T) {
	big := map[string]string{}
	for i := range 40 {
		big[string(rune('a'+i%26))+string(rune('0'+i/26))] = "v"
	}
	for _, m := range []map[string]string{
		nil, {}, {"a": "1"}, {"b": "2", "a": "1", "<": ">", "é": "\xff", "A": "", "": "empty key"}, big,
	} {
		sameAsJSON(t, appendStringMap(nil, m), m)
	}
	for _, s := range [][]string{nil, {}, {"a"}, {"b", "<a>", "\n"}} {
		sameAsJSON(t, appendStrings(nil, s), s)
	}
}
