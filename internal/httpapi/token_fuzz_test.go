package httpapi

import (
	"strings"
	"testing"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/internal/randid"
)

func FuzzParseToken(f *testing.F) {
	f.Add(domain.LinkToken(randid.New("link_"), randid.Token()))
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
		if tok != s || len(tok) > 1+domain.MaxIDLen+domain.SecretLen || strings.ContainsAny(tok, "/%\x00 ") {
			t.Fatalf("accepted %q as %q", s, tok)
		}
	})
}

func TestParseToken(t *testing.T) {
	for i := 0; i < 100; i++ {
		tok := domain.LinkToken(randid.New("link_"), randid.Token())
		if _, ok := parseToken(tok); !ok {
			t.Fatalf("a generated token %q was refused", tok)
		}
	}
	id := randid.New("link_")
	for _, bad := range []string{"", "abc", randid.Token(), strings.Repeat("A", 44), strings.Repeat("A", 42) + "=", strings.Repeat("A", 42) + "/",
		strings.Repeat("A", 42) + "\x00", id + "." + strings.Repeat("A", 42), id + "/." + strings.Repeat("A", 43),
		"file_x." + strings.Repeat("A", 43)} {
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
