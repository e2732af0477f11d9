package httpapi

import (
	"mime"
	"strings"
)

// inlineTypes are the content types a browser may show in place: images,
// PDF and plain text, which cannot run script. Everything else, and above
// all HTML, SVG, XML and JavaScript, is sent as an attachment.
var inlineTypes = map[string]bool{
	"image/png":       true,
	"image/jpeg":      true,
	"image/gif":       true,
	"image/webp":      true,
	"image/bmp":       true,
	"application/pdf": true,
	"text/plain":      true,
}

// contentDisposition builds the Content-Disposition header (RFC 6266) with
// an ASCII fallback filename and, for any other name, filename* in UTF-8
// (RFC 5987).
func contentDisposition(filename, contentType string) string {
	kind := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && inlineTypes[mt] {
		kind = "inline"
	}
	if filename == "" {
		return kind
	}
	var ascii strings.Builder
	plain := true
	for _, r := range filename {
		switch {
		case r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '%' || r == ';':
			ascii.WriteByte('_')
			plain = false
		case r > 0x7e:
			ascii.WriteByte('_')
			plain = false
		default:
			ascii.WriteRune(r)
		}
	}
	out := kind + `; filename="` + ascii.String() + `"`
	if !plain {
		out += "; filename*=UTF-8''" + rfc5987(filename)
	}
	return out
}

// rfc5987 percent-encodes s for filename*: only attr-chars stay as they are.
func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
