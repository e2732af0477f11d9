package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/internal/app"
)

// ContentReader reads stored file content (filestore.Store).
type ContentReader interface {
	// GetRange streams length bytes of the object name from offset.
	GetRange(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error)
}

// FileCache keeps local copies of file content by SHA-256 and size
// (diskcache.Cache).
type FileCache interface {
	// Get opens the local copy, if there is one.
	Get(sha string, size int64) (*os.File, bool)
	// Fill makes a local copy from src in the background.
	Fill(sha string, size int64, src func(context.Context) (io.ReadCloser, error))
}

// minCached is the smallest file that is copied into the cache: smaller
// files are one chunk of the content store, read in one request.
const minCached = 512 << 10

// maxRanges is the most byte ranges a request may ask for; a Range header
// with more is ignored and the whole file is sent, as RFC 9110 allows.
const maxRanges = 8

// parseToken checks the shape of a public-URL token before any lookup
// (domain.ParseToken: a link id, a dot and a 43-character base64url
// secret). Anything else (path tricks, encoded slashes, NUL bytes, oversized
// input) is simply not a token.
func parseToken(s string) (string, bool) {
	if _, ok := domain.ParseToken(s); !ok {
		return "", false
	}
	return s, true
}

// publicHeaders are set on every answer of a public URL, files and errors
// alike: the answer may not be sniffed, framed, indexed or leak the URL.
func publicHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("X-Frame-Options", "DENY")
}

// publicFail answers a public URL that leads nowhere. The body depends only
// on the status, so a response never says more about a token than its
// documented status code: 404 for unknown, tampered or deleted, 410 for
// expired, 429 when rate limited.
func publicFail(c *gin.Context, status int) {
	publicHeaders(c.Writer.Header())
	c.Header("Cache-Control", "no-store")
	msg := map[int]string{
		http.StatusNotFound:        "Not found.",
		http.StatusGone:            "This link has expired.",
		http.StatusTooManyRequests: "Too many requests; slow down.",
	}[status]
	if msg == "" {
		msg = http.StatusText(status)
	}
	c.Data(status, "text/plain; charset=utf-8", []byte(msg+"\n"))
	c.Abort()
}

// serveLink handles GET and HEAD of a public link URL: the file's content,
// streamed from the content store in constant memory, with ranges and
// conditional requests answered by net/http's ServeContent.
//
// The link is checked once, when the request arrives: a download that has
// started runs to its end even if the link expires meanwhile (cutting a
// response short would only corrupt the client's copy), while every later
// request, including a resumed range, is refused.
func (d *Deps) serveLink(c *gin.Context) {
	token, ok := parseToken(c.Param("token"))
	if !ok {
		publicFail(c, http.StatusNotFound)
		return
	}
	shared, err := d.Files.Open(c.Request.Context(), token)
	switch {
	case errors.Is(err, app.ErrLinkGone):
		publicFail(c, http.StatusGone)
		return
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		publicFail(c, http.StatusNotFound)
		return
	case err != nil:
		d.Logger.Error("public link", "request_id", getRequestID(c), "err", err)
		publicFail(c, http.StatusServiceUnavailable)
		return
	}
	d.serveFile(c, shared.File.ID, shared.File.Filename, shared.File.ContentType, shared.File.SHA256, shared.File.Size, shared.File.Created)
}

// serveFile streams a stored file with its validators and safe headers.
func (d *Deps) serveFile(c *gin.Context, id, filename, contentType, sha string, size int64, modified time.Time) {
	h := c.Writer.Header()
	publicHeaders(h)
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", contentDisposition(filename, contentType))
	h.Set("ETag", `"`+sha+`"`)
	// A cache may keep the file but must ask again before every use, so it
	// can never serve it after the link expires or is revoked; revalidation
	// with If-None-Match costs a 304.
	h.Set("Cache-Control", "private, max-age=0, must-revalidate")
	if r := c.Request.Header.Get("Range"); r != "" && (len(r) > 256 || strings.Count(r, ",") >= maxRanges) {
		c.Request.Header.Del("Range")
	}
	modified = modified.Truncate(time.Second)
	if d.Cache != nil && size >= minCached {
		if f, ok := d.Cache.Get(sha, size); ok {
			defer f.Close()
			http.ServeContent(sendfileWriter{ResponseWriter: c.Writer, c: c}, c.Request, "", modified, f)
			return
		}
		if c.Request.Method == http.MethodGet {
			d.Cache.Fill(sha, size, func(ctx context.Context) (io.ReadCloser, error) {
				return d.Content.GetRange(ctx, id, 0, size)
			})
		}
	}
	rs := &objectSeeker{ctx: c.Request.Context(), store: d.Content, name: id, size: size}
	defer rs.Close()
	http.ServeContent(c.Writer, c.Request, "", modified, rs)
}

// sendfileWriter is Gin's response writer with the io.ReaderFrom of the
// connection's own writer, which Gin's hides: net/http's ServeContent
// copies through it, and a local file then goes from the page cache to the
// socket by sendfile, never through the process's memory.
// The bytes it sends are recorded under ctxSentFile for the request log.
type sendfileWriter struct {
	gin.ResponseWriter
	c *gin.Context
}

// ctxSentFile is the context key of the bytes a sendfileWriter sent.
const ctxSentFile = "filelinks.sent_file"

func (w sendfileWriter) ReadFrom(r io.Reader) (n int64, err error) {
	w.WriteHeaderNow()
	if u, ok := w.ResponseWriter.(interface{ Unwrap() http.ResponseWriter }); ok {
		if rf, ok := u.Unwrap().(io.ReaderFrom); ok {
			n, err = rf.ReadFrom(r)
			w.c.Set(ctxSentFile, n+w.c.GetInt64(ctxSentFile))
			return n, err
		}
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// stripeFileContents handles GET /v1/files/:id/contents: the file's content
// for API clients, as Stripe's file url offers it.
func (d *Deps) stripeFileContents(c *gin.Context) {
	f, err := d.Files.Get(c.Request.Context(), keyOf(c).Mode, c.Param("id"))
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	d.serveFile(c, f.ID, f.Filename, f.ContentType, f.SHA256, f.Size, f.Created)
}

// objectSeeker gives http.ServeContent the io.ReadSeeker it wants over an
// object that can only be streamed: Seek only moves the offset, and the
// next Read opens a ranged stream there.
type objectSeeker struct {
	ctx   context.Context
	store ContentReader
	name  string
	size  int64
	off   int64
	r     io.ReadCloser
}

func (o *objectSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.off + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, errors.New("objectSeeker: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("objectSeeker: negative position")
	}
	if abs != o.off && o.r != nil {
		o.r.Close()
		o.r = nil
	}
	o.off = abs
	return abs, nil
}

func (o *objectSeeker) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.r == nil {
		r, err := o.store.GetRange(o.ctx, o.name, o.off, o.size-o.off)
		if err != nil {
			return 0, fmt.Errorf("open %s at %d: %w", o.name, o.off, err)
		}
		o.r = r
	}
	n, err := o.r.Read(p)
	o.off += int64(n)
	return n, err
}

func (o *objectSeeker) Close() error {
	if o.r != nil {
		return o.r.Close()
	}
	return nil
}
