package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
)

// drErrorItem and drErrors are Digital River's error envelope:
// {"type": "bad_request", "errors": [{"code", "parameter", "message"}]}.
type drErrorItem struct {
	Code      string `json:"code"`
	Parameter string `json:"parameter,omitempty"`
	Message   string `json:"message"`
}

type drErrors struct {
	Type   string        `json:"type"`
	Errors []drErrorItem `json:"errors"`
}

// drTypes maps a status to Digital River's error type.
var drTypes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "bad_request",
	http.StatusRequestURITooLong:     "bad_request",
	http.StatusTooManyRequests:       "too_many_requests",
	http.StatusInternalServerError:   "internal_server_error",
	http.StatusServiceUnavailable:    "service_unavailable",
}

// drFail writes a Digital River error and aborts the request.
func drFail(c *gin.Context, status int, code, param, msg string) {
	typ := drTypes[status]
	if typ == "" {
		typ = "bad_request"
		if status >= 500 {
			typ = "internal_server_error"
		}
	}
	c.AbortWithStatusJSON(status, drErrors{Type: typ, Errors: []drErrorItem{{Code: code, Parameter: param, Message: msg}}})
}

// drStatus writes a generic Digital River error for the middleware.
func drStatus(c *gin.Context, status int, msg string) {
	switch {
	case status >= 500:
		drFail(c, status, "internal_server_error", "",
			"An unexpected error occurred. Request "+getRequestID(c)+" was logged; please retry or contact support.")
	case status == http.StatusNotFound:
		drFail(c, status, "not_found", "", msg)
	case status == http.StatusRequestEntityTooLarge:
		drFail(c, status, "request_too_large", "", msg)
	default:
		drFail(c, status, "invalid_request", "", msg)
	}
}

// drParams renames the domain's (Stripe-named) parameters to Digital
// River's.
var drParams = map[string]string{
	"file":                   "fileId",
	"expires_at":             "expiresTime",
	"file_link_data[create]": "linkExpiresTime",
	"ending_before":          "endingBefore",
	"starting_after":         "startingAfter",
}

// drDomainError renders any error from the app in Digital River's format:
// the one place where a domain code becomes a Digital River status.
func (d *Deps) drDomainError(c *gin.Context, err error) {
	var e *domain.Error
	if !errors.As(err, &e) || e.Code == domain.EINTERNAL {
		d.Logger.Error("internal error", "request_id", getRequestID(c), "err", err)
		drStatus(c, http.StatusInternalServerError, "")
		return
	}
	param := e.Param
	if p, ok := drParams[param]; ok {
		param = p
	}
	status, code := http.StatusBadRequest, "invalid_parameter"
	switch e.Code {
	case domain.ENOTFOUND:
		code = "not_found"
		if e.Param == "id" {
			status = http.StatusNotFound
		}
	case domain.ECONFLICT:
		status, code = http.StatusConflict, "conflict"
	}
	msg := e.Message
	switch e.Reason {
	case domain.ReasonFileMissing:
		code, msg = "missing_parameter", "'"+param+"' is required."
	case domain.ReasonMissingParam:
		code = "missing_parameter"
	case domain.ReasonLinkExpired:
		code = "expired"
	case domain.ReasonIdempotencyMismatch:
		code = "idempotency_error"
	case domain.ReasonIdempotencyInUse:
		code = "idempotency_key_in_use"
	}
	drFail(c, status, code, param, msg)
}
