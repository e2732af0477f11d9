package domain

import (
	"mime"
	"path"
	"strings"
	"time"
)

// MaxFilenameLen bounds a stored file name, in bytes.
const MaxFilenameLen = 255

// CheckUpload validates the parameters of an upload at now: the purpose must
// be one a client may upload, and a link, when one is asked for (link not
// nil), may be created with the upload only for the purposes that allow it
// and with settings a create accepts. So an upload that breaks a rule
// stores nothing, neither the file nor its link.
func CheckUpload(purpose string, link *LinkSettings, now time.Time) error {
	switch {
	case purpose == "":
		return Errorf(EINVALID, ReasonMissingParam, "purpose", "Missing required param: purpose.")
	case !Uploadable(purpose):
		return Errorf(EINVALID, ReasonInvalidParam, "purpose", "Invalid purpose: '%s' is not a purpose a file can be uploaded with.", purpose)
	case link == nil:
		return nil
	case !LinkableOnUpload(purpose):
		return Errorf(EINVALID, ReasonFileNotLinkable, "file_link_data[create]",
			"Links cannot be created at upload for files with purpose '%s'.", purpose)
	}
	_, _, err := link.settle(now)
	return err
}

// CleanFilename returns the base name of a client-supplied file name,
// without directories, control characters or invalid UTF-8, at most
// MaxFilenameLen bytes. It never returns a path.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == ".." {
		name = ""
	}
	for len(name) > MaxFilenameLen {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// shortTypes maps detected content types to the short type clients see.
var shortTypes = map[string]string{
	"application/pdf":  "pdf",
	"image/png":        "png",
	"image/jpeg":       "jpg",
	"image/gif":        "gif",
	"image/webp":       "webp",
	"image/bmp":        "bmp",
	"text/html":        "html",
	"text/xml":         "xml",
	"application/zip":  "zip",
	"application/json": "json",
	"image/svg+xml":    "svg",
	"audio/mpeg":       "mp3",
	"video/mp4":        "mp4",
}

// FileType returns the short type of a file ("pdf", "png", "csv", ...): from
// the type detected in its content, or from its name's extension when the
// content is generic text or bytes.
func FileType(contentType, filename string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		if t, ok := shortTypes[mt]; ok {
			return t
		}
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(filename), "."))
	if ext != "" && len(ext) <= 10 && strings.Trim(ext, "abcdefghijklmnopqrstuvwxyz0123456789") == "" {
		return ext
	}
	if strings.HasPrefix(mt, "text/") {
		return "txt"
	}
	return ""
}
