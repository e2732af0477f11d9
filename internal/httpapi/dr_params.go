package httpapi

// What a Digital River request carries besides its route: its JSON body
// (read with limits, errors named by field) and its query (paging
// parameters every list takes, the list's own, and routes that take none).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/gin-gonic/gin"
)

// readDRJSON decodes a JSON body into v: at most MaxFormBytes, one value,
// no unknown fields. It answers the error itself and reports false.
func readDRJSON(c *gin.Context, v any) bool {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			drFail(c, http.StatusBadRequest, "invalid_request", "", "The body must be JSON (Content-Type: application/json).")
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxFormBytes))
	if err != nil {
		drFail(c, http.StatusRequestEntityTooLarge, "request_too_large", "",
			fmt.Sprintf("The request body is larger than %d bytes or could not be read.", MaxFormBytes))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		param, msg := jsonErrorParam(err)
		drFail(c, http.StatusBadRequest, "invalid_parameter", param, msg)
		return false
	}
	if dec.More() {
		drFail(c, http.StatusBadRequest, "invalid_request", "", "The body must hold exactly one JSON object.")
		return false
	}
	return true
}

// jsonErrorParam names the field a JSON decoding error is about.
func jsonErrorParam(err error) (string, string) {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return ute.Field, fmt.Sprintf("'%s' must be of type %s.", ute.Field, jsonTypeName(ute.Type.Kind().String()))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return f, fmt.Sprintf("'%s' is not a known field.", f)
	}
	return "", "The body is not valid JSON: " + err.Error()
}

func jsonTypeName(kind string) string {
	switch kind {
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	case "ptr":
		return "string"
	}
	return kind
}

// drMetadata turns Digital River metadata (string, boolean or integer
// values; null unsets) into a patch.
func drMetadata(raw map[string]json.RawMessage) (domain.MetadataPatch, *drErrorItem) {
	set := make(map[string]string, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case string(v) == "null":
			set[k] = ""
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return domain.MetadataPatch{}, &drErrorItem{Code: "invalid_parameter", Parameter: "metadata." + k, Message: "Invalid string value."}
			}
			set[k] = s
		case string(v) == "true" || string(v) == "false":
			set[k] = string(v)
		default:
			if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
				return domain.MetadataPatch{}, &drErrorItem{Code: "invalid_parameter", Parameter: "metadata." + truncate(k, 64),
					Message: "Metadata values must be strings, booleans or integers."}
			}
			set[k] = string(v)
		}
	}
	return domain.MetadataPatch{Set: set}, nil
}

// drListQuery reads the query of a list: the paging parameters every
// Digital River list takes, and through param the list's own (param
// answers drUnknownParam for a parameter the list does not know). On a bad
// parameter it answers 400 and reports false.
func drListQuery(c *gin.Context, param func(k string, vs []string) *drErrorItem) (drPaging, bool) {
	vals, ok := drQuery(c)
	if !ok {
		return drPaging{}, false
	}
	pg := drPaging{Limit: 10}
	for k, vs := range vals {
		handled, e := pg.param(k, vs[len(vs)-1])
		if !handled {
			e = param(k, vs)
		}
		if e != nil {
			drFail(c, http.StatusBadRequest, e.Code, e.Parameter, e.Message)
			return pg, false
		}
	}
	if e := pg.check(); e != nil {
		drFail(c, http.StatusBadRequest, e.Code, e.Parameter, e.Message)
		return pg, false
	}
	return pg, true
}

// drPaging holds the parameters every Digital River list takes.
type drPaging struct {
	Limit                       int
	StartingAfter, EndingBefore string
	CreatedFrom, CreatedBefore  *time.Time
}

// param folds one query parameter into pg; it reports false when k is not
// a paging parameter.
func (pg *drPaging) param(k, v string) (bool, *drErrorItem) {
	switch {
	case k == "startingAfter":
		pg.StartingAfter = v
	case k == "endingBefore":
		pg.EndingBefore = v
	case k == "limit":
		n, err := strconv.Atoi(v)
		if err != nil || !domain.ValidListLimit(n) {
			return true, &drErrorItem{Code: "invalid_parameter", Parameter: "limit", Message: "'limit' must be an integer from 1 to 100."}
		}
		pg.Limit = n
	case k == "createdTime" || strings.HasPrefix(k, "createdTime["):
		return true, drCreatedParam(k, v, &pg.CreatedFrom, &pg.CreatedBefore)
	default:
		return false, nil
	}
	return true, nil
}

// check refuses both cursors at once.
func (pg *drPaging) check() *drErrorItem {
	if pg.StartingAfter != "" && pg.EndingBefore != "" {
		return &drErrorItem{Code: "invalid_parameter", Parameter: "endingBefore", Message: "Only one of startingAfter and endingBefore may be given."}
	}
	return nil
}

func drUnknownParam(k string) *drErrorItem {
	return &drErrorItem{Code: "invalid_parameter", Parameter: truncate(k, 64), Message: fmt.Sprintf("'%s' is not a known parameter.", truncate(k, 64))}
}

// drCreatedParam folds createdTime or createdTime[gt|gte|lt|lte] (ISO-8601)
// into a half-open interval; a bare createdTime matches that millisecond.
func drCreatedParam(key, value string, from, before **time.Time) *drErrorItem {
	t, err := parseISOTime(value)
	if err != nil {
		return &drErrorItem{Code: "invalid_parameter", Parameter: key, Message: "Invalid " + key + ": " + err.Error() + "."}
	}
	t = t.Truncate(time.Millisecond)
	next := t.Add(time.Millisecond)
	switch key {
	case "createdTime":
		*from, *before = &t, &next
	case "createdTime[gt]":
		*from = &next
	case "createdTime[gte]":
		*from = &t
	case "createdTime[lt]":
		*before = &t
	case "createdTime[lte]":
		*before = &next
	default:
		return drUnknownParam(key)
	}
	return nil
}

// drQuery parses the query string; too many parameters or a bad encoding
// is a 400.
func drQuery(c *gin.Context) (url.Values, bool) {
	vals, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		drFail(c, http.StatusBadRequest, "invalid_request", "", "The query string is not valid: "+err.Error())
		return nil, false
	}
	if len(vals) > MaxFormValues {
		drFail(c, http.StatusBadRequest, "invalid_request", "", fmt.Sprintf("At most %d parameters are accepted.", MaxFormValues))
		return nil, false
	}
	return vals, true
}

// drNoQuery refuses query parameters on routes that take none.
func drNoQuery(c *gin.Context) bool {
	vals, ok := drQuery(c)
	if !ok {
		return false
	}
	for k := range vals {
		drFail(c, http.StatusBadRequest, "invalid_parameter", truncate(k, 64), fmt.Sprintf("'%s' is not a known parameter.", truncate(k, 64)))
		return false
	}
	return true
}
