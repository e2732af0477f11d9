package httpapi

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
)

// formParam is one parameter of a Stripe request, its key split into the base
// name and bracketed parts: "metadata[order]" is base "metadata", sub
// ["order"]; "expand[]" is base "expand", sub [""].
type formParam struct {
	Key   string
	Base  string
	Sub   []string
	Value string
}

// stripeForm is the parsed parameters of a Stripe request, in a stable
// order (sorted by key).
type stripeForm []formParam

// splitKey splits "a[b][c]" into "a" and ["b", "c"]. A key whose brackets do
// not close is kept whole as its base, so it is reported as unknown.
func splitKey(key string) (string, []string) {
	i := strings.IndexByte(key, '[')
	if i <= 0 {
		return key, nil
	}
	base, rest := key[:i], key[i:]
	var sub []string
	for rest != "" {
		if rest[0] != '[' {
			return key, nil
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return key, nil
		}
		sub = append(sub, rest[1:j])
		rest = rest[j+1:]
	}
	return base, sub
}

// readStripeForm returns the parameters of a Stripe request: the query
// string, and for POST the form-encoded body (which may be chunked, as
// Stripe's SDKs send it). Bodies over MaxFormBytes, malformed encodings and
// more than MaxFormValues parameters are refused with a 4xx.
func readStripeForm(c *gin.Context) (stripeForm, *stripeError, int) {
	vals, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, &stripeError{Type: stripeInvalidRequest, Message: "The query string is not valid form encoding: " + err.Error()}, http.StatusBadRequest
	}
	if c.Request.Method == http.MethodPost {
		if ct := c.GetHeader("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/x-www-form-urlencoded" {
				return nil, &stripeError{Type: stripeInvalidRequest,
					Message: "Invalid request: the body must be form encoded (Content-Type: application/x-www-form-urlencoded)."}, http.StatusBadRequest
			}
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxFormBytes))
		if err != nil {
			return nil, &stripeError{Type: stripeInvalidRequest, Code: "request_too_large",
				Message: fmt.Sprintf("The request body is larger than %d bytes or could not be read.", MaxFormBytes)}, http.StatusRequestEntityTooLarge
		}
		bv, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &stripeError{Type: stripeInvalidRequest, Message: "The request body is not valid form encoding: " + err.Error()}, http.StatusBadRequest
		}
		for k, v := range bv {
			vals[k] = append(vals[k], v...)
		}
	}
	if len(vals) > MaxFormValues {
		return nil, &stripeError{Type: stripeInvalidRequest,
			Message: fmt.Sprintf("Too many parameters: at most %d are accepted.", MaxFormValues)}, http.StatusBadRequest
	}
	return newStripeForm(vals), nil, 0
}

func newStripeForm(vals map[string][]string) stripeForm {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	form := make(stripeForm, 0, len(keys))
	for _, k := range keys {
		v := vals[k]
		base, sub := splitKey(k)
		// A repeated key keeps its last value, as Stripe's form parser does.
		form = append(form, formParam{Key: k, Base: base, Sub: sub, Value: v[len(v)-1]})
	}
	return form
}

func unknownParam(key string) *stripeError {
	return &stripeError{Type: stripeInvalidRequest, Code: "parameter_unknown", Param: key,
		Message: "Received unknown parameter: " + key}
}

func invalidInteger(key, value string) *stripeError {
	return &stripeError{Type: stripeInvalidRequest, Code: "parameter_invalid_integer", Param: key,
		Message: fmt.Sprintf("Invalid integer: %s", truncate(value, 64))}
}

// parseUnix parses a unix timestamp parameter.
func parseUnix(key, value string) (time.Time, *stripeError) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	// Stripe timestamps are seconds; keep them within what time.Time and
	// JSON clients handle (year 9999).
	if err != nil || n < 0 || n > 253402300799 {
		return time.Time{}, invalidInteger(key, value)
	}
	return time.Unix(n, 0).UTC(), nil
}

// metadataParam folds one metadata parameter into patch: "metadata=" clears
// all keys, "metadata[k]=v" sets (or with an empty value unsets) one.
func metadataParam(p formParam, clear *bool, set map[string]string) *stripeError {
	switch {
	case len(p.Sub) == 0 && p.Value == "":
		*clear = true
	case len(p.Sub) == 1:
		set[p.Sub[0]] = p.Value
	default:
		return &stripeError{Type: stripeInvalidRequest, Param: p.Key,
			Message: "Invalid metadata: metadata must be a set of key-value pairs, such as metadata[order_id]=6735, or an empty string to unset all keys."}
	}
	return nil
}

// expandParam checks one expand parameter ("expand[]=x", "expand[0]=x")
// against what may be expanded, and records it.
func expandParam(p formParam, allowed map[string]bool, into map[string]bool) *stripeError {
	if len(p.Sub) > 1 || (len(p.Sub) == 1 && p.Sub[0] != "" && !isDigits(p.Sub[0])) {
		return unknownParam(p.Key)
	}
	if !allowed[p.Value] {
		return &stripeError{Type: stripeInvalidRequest, Param: p.Key,
			Message: fmt.Sprintf("This property cannot be expanded (%s).", truncate(p.Value, 64))}
	}
	into[p.Value] = true
	return nil
}

// rangeParam folds "created=T" or "created[gt|gte|lt|lte]=T" (unix seconds)
// into a half-open interval [from, before) on times with any precision.
func rangeParam(p formParam, from, before **time.Time) *stripeError {
	op := "eq"
	if len(p.Sub) == 1 {
		op = p.Sub[0]
	} else if len(p.Sub) > 1 {
		return unknownParam(p.Key)
	}
	t, e := parseUnix(p.Key, p.Value)
	if e != nil {
		return e
	}
	next := t.Add(time.Second)
	switch op {
	case "eq":
		*from, *before = &t, &next
	case "gt":
		*from = &next
	case "gte":
		*from = &t
	case "lt":
		*before = &t
	case "lte":
		*before = &next
	default:
		return unknownParam(p.Key)
	}
	return nil
}

// listParams are the parameters every Stripe list takes.
type listParams struct {
	Limit         int
	StartingAfter string
	EndingBefore  string
	CreatedFrom   *time.Time
	CreatedBefore *time.Time
}

// listParam folds a list parameter into lp; it reports false when p is not
// one of them.
func listParam(p formParam, lp *listParams) (bool, *stripeError) {
	if len(p.Sub) > 0 && p.Base != "created" {
		return p.Base == "limit" || p.Base == "starting_after" || p.Base == "ending_before", unknownParam(p.Key)
	}
	switch p.Base {
	case "limit":
		n, err := strconv.Atoi(strings.TrimSpace(p.Value))
		if err != nil {
			return true, invalidInteger("limit", p.Value)
		}
		if !domain.ValidListLimit(n) {
			return true, &stripeError{Type: stripeInvalidRequest, Code: "parameter_invalid_integer", Param: "limit",
				Message: fmt.Sprintf("Invalid limit: %d; must be between 1 and %d.", n, domain.MaxListLimit)}
		}
		lp.Limit = n
	case "starting_after":
		lp.StartingAfter = p.Value
	case "ending_before":
		lp.EndingBefore = p.Value
	case "created":
		return true, rangeParam(p, &lp.CreatedFrom, &lp.CreatedBefore)
	default:
		return false, nil
	}
	return true, nil
}

// stripeListQuery reads the form of a list: the parameters every Stripe
// list takes, and through param the list's own (param answers
// unknownParam for a parameter the list does not know). On a bad
// parameter it answers 400 and reports false.
func (d *Deps) stripeListQuery(c *gin.Context, param func(formParam) *stripeError) (listParams, bool) {
	var lp listParams
	form, ok := d.stripeForm(c)
	if !ok {
		return lp, false
	}
	for _, p := range form {
		handled, e := listParam(p, &lp)
		if !handled && e == nil {
			e = param(p)
		}
		if e != nil {
			stripeFail(c, http.StatusBadRequest, *e)
			return lp, false
		}
	}
	if e := lp.check(); e != nil {
		stripeFail(c, http.StatusBadRequest, *e)
		return lp, false
	}
	return lp, true
}

// check validates the parameters common to lists.
func (lp *listParams) check() *stripeError {
	if lp.Limit == 0 {
		lp.Limit = 10
	}
	if lp.StartingAfter != "" && lp.EndingBefore != "" {
		return &stripeError{Type: stripeInvalidRequest, Code: "parameters_exclusive", Param: "ending_before",
			Message: "You may only specify one of these parameters: ending_before, starting_after."}
	}
	return nil
}

func parseBool(key, value string) (bool, *stripeError) {
	switch value {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &stripeError{Type: stripeInvalidRequest, Param: key,
		Message: fmt.Sprintf("Invalid boolean: %s", truncate(value, 64))}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
