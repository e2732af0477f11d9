package domain

import (
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	secret := strings.Repeat("aZ09-_", 7) + "x" // 43 base64url characters
	id := "link_0ce3Fq5W4fQ2kXa9LmPq7RtZ"
	for _, tc := range []struct {
		in     string
		id     string
		ok     bool
		naming bool
	}{
		{LinkToken(id, secret), id, true, true},
		{secret, "", true, false}, // the first format: a secret alone
		{"", "", false, false},
		{LinkToken(id, secret[1:]), "", false, true},
		{LinkToken(id, secret+"A"), "", false, true},
		{LinkToken(id, secret[:42]+"="), "", false, true},
		{LinkToken(id, secret[:42]+"/"), "", false, true},
		{LinkToken("file_abc", secret), "", false, true}, // names no link
		{LinkToken("link_a/b", secret), "", false, true},
		{LinkToken("link_"+strings.Repeat("a", MaxIDLen), secret), "", false, true},
		{LinkToken(LinkToken(id, secret), secret), "", false, true},
		{"." + secret, "", false, true},
		{"../../etc/passwd", "", false, true},
		{secret[:42] + "\x00", "", false, false},
	} {
		got, ok := ParseToken(tc.in)
		if got != tc.id || ok != tc.ok {
			t.Errorf("ParseToken(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.id, tc.ok)
		}
		if NamesLink(tc.in) != tc.naming || NamesLink([]byte(tc.in)) != tc.naming {
			t.Errorf("NamesLink(%q) = %v, want %v", tc.in, NamesLink(tc.in), tc.naming)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("link_abc." + strings.Repeat("A", SecretLen))
	f.Add(strings.Repeat("A", SecretLen))
	f.Add("link_a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseToken(s)
		switch {
		case !ok && id != "":
			t.Fatalf("refused %q but returned %q", s, id)
		case !ok:
		case id == "" && (len(s) != SecretLen || NamesLink(s)):
			t.Fatalf("accepted %q as a secret alone", s)
		case id != "" && (s != LinkToken(id, s[len(id)+1:]) || !ValidID(id) || strings.ContainsAny(s, "/%\x00 ")):
			t.Fatalf("accepted %q as naming %q", s, id)
		}
	})
}
