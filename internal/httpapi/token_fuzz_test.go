package httpapi

import (
	"strings"
	"testing"

	"github.com/filelinks/filelinks/internal/randid"
)

func FuzzParseToken(f *testing.F) {
	f.Add(randid.Token())
	f.Add("")
	f.Add("../../../../etc/passwd")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("A", 42) + "\x00")
	f.Add(strings.Repeat("é", 22))
	f.Fuzz(func(t *testing.T, s string) {
		tok, ok := parseToken(s)
		if !ok {
			if tok != "" {
				t.Fatalf("refused %q but returned %q", s, tok)
			}
			return
		}
		if tok != s || len(tok) != tokenLen || strings.ContainsAny(tok, "/.%\x00 ") {
			t.Fatalf("accepted %q as %q", s, tok)
		}
	})
}

func TestParseToken(t *testing.T) {
	for i := 0; i < 100; i++ {
		if _, ok := parseToken(randid.Token()); !ok {
			t.Fatal("a generated token was refused")
		}
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 44), strings.Repeat("A", 42) + "=", strings.Repeat("A", 42) + "/", strings.Repeat("A", 42) + "\x00"} {
		if _, ok := parseToken(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct{ name, ctype, want string }{
		{"a.pdf", "application/pdf", `inline; filename="a.pdf"`},
		{"x.html", "text/html; charset=utf-8", `attachment; filename="x.html"`},
		{"x.svg", "image/svg+xml", `attachment; filename="x.svg"`},
		{`q"uote;.txt`, "text/plain; charset=utf-8", `inline; filename="q_uote_.txt"; filename*=UTF-8''q%22uote%3B.txt`},
		{"", "application/octet-stream", "attachment"},
	} {
		if got := contentDisposition(tc.name, tc.ctype); got != tc.want {
			t.Errorf("%q %q:\n got %s\nwant %s", tc.name, tc.ctype, got, tc.want)
		}
	}
}
