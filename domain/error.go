package domain

import (
	"errors"
	"fmt"
)

// Code classifies an Error. Each API dialect maps a Code to a status in one
// place.
type Code string

const (
	EINVALID  Code = "invalid"   // the command breaks a rule; the caller must change it
	ENOTFOUND Code = "not_found" // the link or file does not exist (in this mode)
	ECONFLICT Code = "conflict"  // the state changed under the command; a retry may succeed
	EINTERNAL Code = "internal"  // a fault of ours; details are logged, not shown
)

// Stable reasons. A dialect may use them to pick its own error code.
const (
	ReasonFileMissing      = "file_missing"
	ReasonFileNotFound     = "file_not_found"
	ReasonFileNotLinkable  = "file_not_linkable"
	ReasonExpiresAtPast    = "expires_at_past"
	ReasonMetadataKeys     = "metadata_too_many_keys"
	ReasonMetadataKey      = "metadata_key_invalid"
	ReasonMetadataValue    = "metadata_value_invalid"
	ReasonLinkNotFound     = "link_not_found"
	ReasonLinkExpired      = "link_expired"
	ReasonLinkExists       = "link_exists"
	ReasonConcurrentUpdate = "concurrent_update"
	ReasonNotDue           = "not_due"
	ReasonInvalidID        = "invalid_id"
	ReasonInvalidCommand   = "invalid_command"
	ReasonInternal         = "internal"
	ReasonMissingParam     = "parameter_missing"
	ReasonInvalidParam     = "parameter_invalid"
	ReasonFileTooLarge     = "file_too_large"

	ReasonIdempotencyKey      = "idempotency_key_invalid"
	ReasonIdempotencyMismatch = "idempotency_mismatch"
	ReasonIdempotencyInUse    = "idempotency_key_in_use"
)

// Error is the one error type of the application. Message is safe to show to
// a client; Param names the offending input, when there is one.
type Error struct {
	Code    Code
	Reason  string
	Param   string
	Message string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s, param %s): %s", e.Code, e.Reason, e.Param, e.Message)
	}
	return fmt.Sprintf("%s (%s): %s", e.Code, e.Reason, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, reason, param, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is or wraps an *Error, "" for
// nil, and EINTERNAL for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
