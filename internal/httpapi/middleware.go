package httpapi

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Context keys set by the middleware.
const (
	ctxKey = "filelinks.key"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newRequestID returns "req_" and 14 random alphanumerics, as Stripe's.
func newRequestID() string {
	var b [14]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 18)
	out = append(out, "req_"...)
	for _, c := range b {
		out = append(out, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(out)
}

// requestID gives every request an id, sets the Request-Id header on every
// response, and logs the request when it ends.
func requestID(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := newRequestID()
		c.Header("Request-Id", id) // where getRequestID finds it
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelError
		}
		// Checked here, not only inside Log: the arguments below cost
		// eight allocations per request even when the line is dropped.
		if !logger.Enabled(c.Request.Context(), level) {
			return
		}
		size := int64(c.Writer.Size())
		if sent, ok := c.Get(ctxSentFile); ok { // bytes Gin's writer did not see
			size = max(size, 0) + sent.(int64)
		}
		logger.Log(c.Request.Context(), level, "request",
			"request_id", id, "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", status, "bytes", size, "duration", time.Since(start))
	}
}

// getRequestID returns the request's id, from the response header that
// requestID set (no entry in the context's Keys: it would cost a map and
// the boxing of the string for every request).
func getRequestID(c *gin.Context) string { return c.Writer.Header().Get("Request-Id") }

// boundedQuery refuses requests whose query string is over MaxQueryBytes.
// (Bodies are bounded where they are read: forms and JSON at MaxFormBytes,
// uploads at the upload limit.)
func boundedQuery(onError func(*gin.Context, int, string)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(c.Request.URL.RawQuery) > MaxQueryBytes {
			onError(c, http.StatusRequestURITooLong, "The query string is too long.")
			c.Abort()
			return
		}
		c.Next()
	}
}

// recoverer turns a panic into the dialect's 500 and logs it with the stack:
// a bug must never take the process down or leak details to the client.
func recoverer(logger *slog.Logger, onError func(*gin.Context, int, string)) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, err any) {
		logger.Error("panic in handler", "request_id", getRequestID(c), "panic", err)
		if !c.Writer.Written() {
			onError(c, http.StatusInternalServerError, "")
		}
		c.Abort()
	})
}
