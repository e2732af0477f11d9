package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/internal/app"
)

// Limits on what a request may carry.
const (
	// MaxQueryBytes bounds the raw query string.
	MaxQueryBytes = 16 << 10
	// MaxFormBytes bounds a form-encoded or JSON body.
	MaxFormBytes = 256 << 10
	// MaxFormValues bounds the number of parameters of a request.
	MaxFormValues = 256
	// MaxMultipartOverhead is what an upload may carry besides the file.
	MaxMultipartOverhead = 1 << 20
)

// Deps are what the handlers need.
type Deps struct {
	Links *app.Links
	Files *app.Files
	Keys  *Keys
	Idem  IdempotencyStore // nil: Idempotency-Key is ignored
	// PublicURL is the base of link URLs and file URLs, without a trailing slash.
	PublicURL string
	// MaxUploadBytes caps an uploaded file.
	MaxUploadBytes int64
	// Content reads file content for public links and /contents.
	Content ContentReader
	// Cache, when set, keeps local copies of downloaded files, served
	// from disk with sendfile (diskcache.Cache).
	Cache FileCache
	// LinkRate and LinkBurst limit requests to public link URLs per client
	// IP (requests per second, and the bucket size). Default 10 and 40.
	LinkRate  float64
	LinkBurst int
	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// IP. Default none: the client IP is the connection's.
	TrustedProxies []string
	// Ready reports whether the service can serve (for /readyz).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// New returns the HTTP handler of the whole service.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = false
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.UseRawPath = true
	r.UnescapePathValues = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		d.Logger.Error("invalid trusted proxies; trusting none", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	if d.LinkRate <= 0 {
		d.LinkRate = 10
	}
	if d.LinkBurst <= 0 {
		d.LinkBurst = 40
	}
	routes(r, &d)
	return r
}
