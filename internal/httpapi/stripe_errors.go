package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
)

// Stripe error types.
const (
	stripeInvalidRequest = "invalid_request_error"
	stripeAPIError       = "api_error"
	stripeIdempotency    = "idempotency_error"
)

// stripeError is the body of Stripe's error envelope {"error": {...}}.
type stripeError struct {
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	DocURL  string `json:"doc_url,omitempty"`
}

// stripeFail writes a Stripe error and aborts the request.
func stripeFail(c *gin.Context, status int, e stripeError) {
	if e.Code != "" && e.DocURL == "" {
		e.DocURL = "https://stripe.com/docs/error-codes/" + dashed(e.Code)
	}
	c.AbortWithStatusJSON(status, gin.H{"error": e})
}

// stripeStatus writes a generic error for a status, for the middleware.
func stripeStatus(c *gin.Context, status int, msg string) {
	switch {
	case status >= 500:
		stripeFail(c, status, stripeError{Type: stripeAPIError,
			Message: "An unknown error occurred on our side. Request " + getRequestID(c) + " was logged; please retry or contact support."})
	case status == http.StatusRequestEntityTooLarge:
		stripeFail(c, status, stripeError{Type: stripeInvalidRequest, Code: "request_too_large", Message: msg})
	default:
		stripeFail(c, status, stripeError{Type: stripeInvalidRequest, Message: msg})
	}
}

// stripeReasonCodes maps domain reasons to Stripe error codes, where Stripe
// has one.
var stripeReasonCodes = map[string]string{
	domain.ReasonFileMissing:      "parameter_missing",
	domain.ReasonMissingParam:     "parameter_missing",
	domain.ReasonFileNotFound:     "resource_missing",
	domain.ReasonLinkNotFound:     "resource_missing",
	domain.ReasonExpiresAtPast:    "parameter_invalid_integer",
	domain.ReasonInvalidParam:     "parameter_invalid_string",
	domain.ReasonFileTooLarge:     "file_too_large",
	domain.ReasonMetadataKeys:     "parameter_invalid_metadata",
	domain.ReasonMetadataKey:      "parameter_invalid_metadata",
	domain.ReasonMetadataValue:    "parameter_invalid_metadata",
	domain.ReasonLinkExpired:      "file_link_expired",
	domain.ReasonFileNotLinkable:  "parameter_invalid_string",
	domain.ReasonIdempotencyInUse: "idempotency_key_in_use",
}

// stripeDomainError renders any error from the app in Stripe's format: the
// one place where a domain code becomes a Stripe status. Errors that are not
// *domain.Error are internal: logged in full, shown as a generic 500.
func (d *Deps) stripeDomainError(c *gin.Context, err error) {
	var e *domain.Error
	if !errors.As(err, &e) || e.Code == domain.EINTERNAL {
		d.Logger.Error("internal error", "request_id", getRequestID(c), "err", err)
		stripeStatus(c, http.StatusInternalServerError, "")
		return
	}
	out := stripeError{Type: stripeInvalidRequest, Code: stripeReasonCodes[e.Reason], Message: e.Message, Param: e.Param}
	switch e.Reason {
	// Stripe names no parameter in the errors of a key's reuse.
	case domain.ReasonIdempotencyMismatch:
		out.Type, out.Param = stripeIdempotency, ""
	case domain.ReasonIdempotencyInUse:
		out.Param = ""
	}
	status := http.StatusBadRequest
	switch e.Code {
	case domain.ENOTFOUND:
		// An id in the path that names nothing is a 404; a parameter that
		// names nothing is a bad request.
		if e.Param == "id" {
			status = http.StatusNotFound
		}
	case domain.ECONFLICT:
		status = http.StatusConflict
	}
	stripeFail(c, status, out)
}

func dashed(code string) string {
	b := []byte(code)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}
