package domain

import "strings"

// MaxIdempotencyKeyLen bounds an idempotency key, as Stripe does.
const MaxIdempotencyKeyLen = 255

// idempotencyParam names the idempotency key in errors: it comes in the
// request header of that name.
const idempotencyParam = "Idempotency-Key"

// CheckIdempotencyKey checks a client's idempotency key ("" is none): at
// most MaxIdempotencyKeyLen bytes of printable ASCII. The key is stored in
// the audit of the events it causes, as UTF-8 JSON: another byte would not
// come back as it was sent, and a retry would not find its key.
func CheckIdempotencyKey(key string) error {
	switch {
	case len(key) > MaxIdempotencyKeyLen:
		return Errorf(EINVALID, ReasonIdempotencyKey, idempotencyParam,
			"Idempotency keys can be at most %d characters long.", MaxIdempotencyKeyLen)
	case strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
		return Errorf(EINVALID, ReasonIdempotencyKey, idempotencyParam,
			"Idempotency keys may contain only printable ASCII characters.")
	}
	return nil
}

// IdempotencyMismatch is the error for a request whose idempotency key was
// first used with other parameters.
func IdempotencyMismatch(key string) *Error {
	if len(key) > MaxIdempotencyKeyLen {
		key = key[:MaxIdempotencyKeyLen] + "..."
	}
	return Errorf(EINVALID, ReasonIdempotencyMismatch, idempotencyParam,
		"Keys for idempotent requests can only be used with the same parameters they were first used with. "+
			"Try using a key other than '%s' if you meant to execute a different request.", key)
}

// IdempotencyInUse is the error for a request whose idempotency key is held
// by a request still running, or whose first effect cannot be read yet: a
// retry in a moment gets the first request's answer.
func IdempotencyInUse() *Error {
	return Errorf(ECONFLICT, ReasonIdempotencyInUse, idempotencyParam,
		"There is currently another in-progress request using this idempotency key (probably means you have "+
			"sent the same request twice at the same time); please retry in a moment.")
}
