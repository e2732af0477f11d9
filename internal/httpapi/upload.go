package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/internal/app"
)

// maxFieldBytes bounds one non-file field of an upload.
const maxFieldBytes = 8 << 10

// uploadFailure says why an upload could not be read; err, when set, is an
// app error to render as such.
type uploadFailure struct {
	status           int
	code, param, msg string
	err              error
}

// readUpload reads a multipart upload, streaming its "file" part into the
// content store (never into memory) and keeping its other fields, each at
// most maxFieldBytes. Both dialects use it. On failure nothing stays
// stored. A request without a file part returns a nil *app.Staged.
func (d *Deps) readUpload(c *gin.Context) (*app.Staged, map[string][]string, *uploadFailure) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, nil, &uploadFailure{status: http.StatusBadRequest, code: "invalid_request",
			msg: "Invalid request: files must be uploaded as multipart/form-data."}
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, d.MaxUploadBytes+MaxMultipartOverhead)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, nil, d.bodyFailure(err)
	}
	var staged *app.Staged
	fail := func(f *uploadFailure) (*app.Staged, map[string][]string, *uploadFailure) {
		d.discard(c, staged)
		return nil, nil, f
	}
	fields := map[string][]string{}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(d.bodyFailure(err))
		}
		if n >= MaxFormValues {
			return fail(&uploadFailure{status: http.StatusBadRequest, code: "invalid_request",
				msg: fmt.Sprintf("Too many parts: at most %d are accepted.", MaxFormValues)})
		}
		name := part.FormName()
		if name == "file" {
			if staged != nil {
				return fail(&uploadFailure{status: http.StatusBadRequest, code: "invalid_request", param: "file",
					msg: "Only one file may be uploaded per request."})
			}
			s, err := d.Files.Stage(c.Request.Context(), part, part.FileName())
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return fail(d.bodyFailure(err))
				}
				return fail(&uploadFailure{err: err})
			}
			staged = &s
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return fail(d.bodyFailure(err))
		}
		if len(v) > maxFieldBytes {
			return fail(&uploadFailure{status: http.StatusBadRequest, code: "invalid_request", param: truncate(name, 64),
				msg: fmt.Sprintf("The value of %s is longer than %d bytes.", truncate(name, 64), maxFieldBytes)})
		}
		fields[name] = append(fields[name], string(v))
	}
	return staged, fields, nil
}

// bodyFailure describes a body that could not be read: too large, or
// malformed.
func (d *Deps) bodyFailure(err error) *uploadFailure {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &uploadFailure{status: http.StatusRequestEntityTooLarge, code: "file_too_large", param: "file",
			msg: fmt.Sprintf("The upload is larger than the limit of %d bytes.", d.MaxUploadBytes)}
	}
	return &uploadFailure{status: http.StatusBadRequest, code: "invalid_request", msg: "Invalid multipart body: " + err.Error()}
}

// discard removes staged content that will not become a file.
func (d *Deps) discard(c *gin.Context, staged *app.Staged) {
	if staged == nil {
		return
	}
	if err := d.Files.Discard(c.Request.Context(), *staged); err != nil {
		d.Logger.Warn("discarding staged upload", "file", staged.FileID, "err", err)
	}
}
