package domain

import (
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	secret := strings.Repeat("aZ09-_", 7) + "x" // 43 base64url characters
	id := "link_0ce3Fq5W4fQ2kXa9LmPq7RtZ"
	for _, tc := range []struct {
		in string
		id string
		ok bool
	}{
		{LinkToken(id, secret), id, true},
		{secret, "", false}, // a secret alone names no link
		{"", "", false},
		{LinkToken(id, secret[1:]), "", false},
		{LinkToken(id, secret+"A"), "", false},
		{LinkToken(id, secret[:42]+"="), "", false},
		{LinkToken(id, secret[:42]+"/"), "", false},
		{LinkToken("file_abc", secret), "", false}, // names no link
		{LinkToken("link_a/b", secret), "", false},
		{LinkToken("link_"+strings.Repeat("a", MaxIDLen), secret), "", false},
		{LinkToken(LinkToken(id, secret), secret), "", false},
		{"." + secret, "", false},
		{"../../etc/passwd", "", false},
		{secret[:42] + "\x00", "", false},
	} {
		got, ok := ParseToken(tc.in)
		if got != tc.id || ok != tc.ok {
			t.Errorf("ParseToken(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.id, tc.ok)
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
		case s != LinkToken(id, s[len(id)+1:]) || !ValidID(id) || len(s)-len(id)-1 != SecretLen || strings.ContainsAny(s, "/%\x00 "):
			t.Fatalf("accepted %q as naming %q", s, id)
		}
	})
}
