package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
)

// StoredResponse is a response kept for replay.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
	RequestID   string
}

// IdempotencyClaim is the right to execute the request of a claimed key.
type IdempotencyClaim interface {
	// Complete stores the response for replay.
	Complete(ctx context.Context, r StoredResponse) error
	// Abandon forgets the key, so a retry executes again.
	Abandon(ctx context.Context) error
}

// IdempotencyStore keeps the first response to each idempotency key,
// shared by every replica of the API.
type IdempotencyStore interface {
	// Begin claims key, within scope (the API key), for a request with
	// this fingerprint. When the key completed before with the same
	// fingerprint it returns the stored response instead of a claim. When
	// the key was used with another fingerprint it returns
	// domain.IdempotencyMismatch, and while a request with the key runs
	// domain.IdempotencyInUse.
	Begin(ctx context.Context, scope, key, fingerprint string) (IdempotencyClaim, *StoredResponse, error)
	// MaxBody is the largest response body that can be stored.
	MaxBody() int
}

// idempotent makes a POST with an Idempotency-Key safe to retry, as Stripe
// does: the first successful response is stored and replayed (with
// Idempotent-Replayed: true) for the life of the record; the same key with
// other parameters is a 400 idempotency_error, and while the first request
// runs a second one gets 409 idempotency_key_in_use. Failed requests store
// nothing, so a retry executes again.
func (d *Deps) idempotent(c *gin.Context) {
	key, ok := d.checkIdempotencyKey(c)
	if !ok || key == "" || d.Idem == nil {
		return
	}
	fp, err := fingerprint(c)
	if err != nil {
		errorFor(c, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	ctx := c.Request.Context()
	claim, replay, err := d.Idem.Begin(ctx, keyOf(c).ID, key, fp)
	switch {
	case err != nil:
		d.domainError(c, fmt.Errorf("idempotency store: %w", err))
		return
	case replay != nil:
		replayed(c, replay.RequestID)
		c.Data(replay.Status, replay.ContentType, replay.Body)
		c.Abort()
		return
	}
	rec := &recorder{ResponseWriter: c.Writer, limit: d.Idem.MaxBody()}
	c.Writer = rec
	c.Next()

	done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	status := rec.Status()
	if status >= 200 && status < 300 && !rec.overflow {
		err = claim.Complete(done, StoredResponse{Status: status, ContentType: rec.Header().Get("Content-Type"),
			Body: rec.body.Bytes(), RequestID: getRequestID(c)})
	} else {
		err = claim.Abandon(done)
	}
	if err != nil {
		d.Logger.Warn("idempotency record not finished", "request_id", getRequestID(c), "err", err)
	}
}

// checkIdempotencyKey reads the Idempotency-Key header, echoes it, and
// refuses one that breaks domain.CheckIdempotencyKey. With no header it
// returns "" and ok: the request is not idempotent. With !ok the answer is
// sent and the chain aborted. Every POST route runs it, through idempotent
// or as the middleware of the routes whose handlers make themselves
// idempotent (link creation, app.Links.CreateOnce).
func (d *Deps) checkIdempotencyKey(c *gin.Context) (string, bool) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return "", true
	}
	if err := domain.CheckIdempotencyKey(key); err != nil {
		d.domainError(c, err)
		return "", false
	}
	c.Header("Idempotency-Key", key)
	return key, true
}

// idempotencyKeyOnly is the middleware of the routes that make themselves
// idempotent: it only checks the header (and aborts on a bad one).
func (d *Deps) idempotencyKeyOnly(c *gin.Context) { d.checkIdempotencyKey(c) }

// replayed marks a response as the replay of the request with this id.
func replayed(c *gin.Context, requestID string) {
	c.Header("Idempotent-Replayed", "true")
	c.Header("Original-Request", requestID)
}

// fingerprint hashes what makes two requests "the same": method, path and
// parameters. A form body is read (up to MaxFormBytes) and put back for the
// handler, and its parameters are compared in canonical order, so the same
// parameters encoded differently match. An upload is fingerprinted by
// method, path and declared length, since its content cannot be read twice.
func fingerprint(c *gin.Context) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\n", c.Request.Method, c.Request.URL.Path, c.Request.URL.RawQuery)
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt == "multipart/form-data" {
		fmt.Fprintf(h, "multipart %d\n", c.Request.ContentLength)
	} else {
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, MaxFormBytes+1))
		if err != nil || len(body) > MaxFormBytes {
			return "", fmt.Errorf("The request body is larger than %d bytes or could not be read.", MaxFormBytes)
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		if vals, err := url.ParseQuery(string(body)); err == nil {
			h.Write([]byte(vals.Encode()))
		} else {
			h.Write(body)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// recorder keeps a copy of the response body, up to limit bytes.
type recorder struct {
	gin.ResponseWriter
	body     bytes.Buffer
	limit    int
	overflow bool
}

func (r *recorder) Write(b []byte) (int, error) {
	r.keep(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.keep([]byte(s))
	return r.ResponseWriter.WriteString(s)
}

func (r *recorder) keep(b []byte) {
	if r.overflow || r.body.Len()+len(b) > r.limit {
		r.overflow = true
		return
	}
	r.body.Write(b)
}
