package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Errors an IdempotencyStore returns from Begin.
var (
	// ErrIdempotencyMismatch is returned when the key was used with other
	// parameters.
	ErrIdempotencyMismatch = errors.New("httpapi: idempotency key used with other parameters")
	// ErrIdempotencyInUse is returned when a request with the key is still
	// being processed.
	ErrIdempotencyInUse = errors.New("httpapi: idempotency key in use")
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
	// fingerprint it returns the stored response instead of a claim.
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
	key, ok := checkIdempotencyKey(c)
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
	case errors.Is(err, ErrIdempotencyMismatch):
		idempotencyMismatch(c, key)
		return
	case errors.Is(err, ErrIdempotencyInUse):
		idempotencyInUse(c)
		return
	case err != nil:
		d.Logger.Error("idempotency store", "request_id", getRequestID(c), "err", err)
		errorFor(c, http.StatusInternalServerError, "")
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
// refuses one that is too long or not printable ASCII. With no header it returns "" and ok: the
// request is not idempotent. With !ok the answer is sent and the chain
// aborted. Every POST route runs it, through idempotent or as the
// middleware of the routes whose handlers make themselves idempotent
// (link creation, app.Links.CreateOnce).
func checkIdempotencyKey(c *gin.Context) (string, bool) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return "", true
	}
	msg := ""
	switch {
	case len(key) > MaxIdempotencyKeyLen:
		msg = fmt.Sprintf("Idempotency keys can be at most %d characters long.", MaxIdempotencyKeyLen)
	case strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
		// Events store text as UTF-8 JSON: another byte would not come
		// back as it was sent, and a retry would not find its key.
		msg = "Idempotency keys may contain only printable ASCII characters."
	default:
		c.Header("Idempotency-Key", key)
	}
	if msg != "" {
		if isStripe(c) {
			stripeFail(c, http.StatusBadRequest, stripeError{Type: stripeInvalidRequest, Param: "Idempotency-Key", Message: msg})
		} else {
			drFail(c, http.StatusBadRequest, "invalid_parameter", "Idempotency-Key", msg)
		}
		return "", false
	}
	return key, true
}

// idempotencyKeyOnly is the middleware of the routes that make themselves
// idempotent: it only checks the header (and aborts on a bad one).
func idempotencyKeyOnly(c *gin.Context) { checkIdempotencyKey(c) }

// idempotencyMismatch answers a request whose idempotency key was first
// used with other parameters, in the dialect of its path.
func idempotencyMismatch(c *gin.Context, key string) {
	msg := fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. "+
		"Try using a key other than '%s' if you meant to execute a different request.", truncate(key, 255))
	if isStripe(c) {
		stripeFail(c, http.StatusBadRequest, stripeError{Type: stripeIdempotency, Message: msg})
	} else {
		drFail(c, http.StatusBadRequest, "idempotency_error", "Idempotency-Key", msg)
	}
}

// idempotencyInUse answers a request whose idempotency key is held by a
// request still running, in the dialect of its path.
func idempotencyInUse(c *gin.Context) {
	msg := "There is currently another in-progress request using this idempotency key (probably means you have " +
		"sent the same request twice at the same time); please retry in a moment."
	if isStripe(c) {
		stripeFail(c, http.StatusConflict, stripeError{Type: stripeInvalidRequest, Code: "idempotency_key_in_use", Message: msg})
	} else {
		drFail(c, http.StatusConflict, "idempotency_key_in_use", "Idempotency-Key", msg)
	}
}

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
