package httpapi

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

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/app"
)

// drFileLink is Digital River's FileLink object.
type drFileLink struct {
	ID          string            `json:"id"`
	CreatedTime string            `json:"createdTime"`
	Expired     bool              `json:"expired"`
	ExpiresTime *string           `json:"expiresTime"`
	FileID      string            `json:"fileId"`
	LiveMode    bool              `json:"liveMode"`
	Metadata    map[string]string `json:"metadata"`
	URL         string            `json:"url"`
}

// drList is Digital River's list shape.
type drList[T any] struct {
	HasMore bool `json:"hasMore"`
	Data    []T  `json:"data"`
}

func (d *Deps) drLink(l domain.Link, now time.Time) drFileLink {
	md := l.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return drFileLink{
		ID:          l.ID,
		CreatedTime: drTime(l.Created),
		Expired:     l.Expired(now),
		ExpiresTime: drTimePtr(l.ExpiresAt),
		FileID:      l.FileID,
		LiveMode:    l.Mode == events.ModeLive,
		Metadata:    md,
		URL:         d.linkURL(l.Token),
	}
}

// drLinkBody is the JSON body of a create or update.
type drLinkBody struct {
	FileID      *string                    `json:"fileId"`
	ExpiresTime json.RawMessage            `json:"expiresTime"`
	Metadata    map[string]json.RawMessage `json:"metadata"`
}

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

// drCreateLink handles POST /file-links.
func (d *Deps) drCreateLink(c *gin.Context) {
	var body drLinkBody
	if !readDRJSON(c, &body) {
		return
	}
	fileID := ""
	if body.FileID != nil {
		fileID = *body.FileID
	}
	// Digital River names a missing file before any other fault.
	if err := domain.RequireFile(fileID); err != nil {
		d.drDomainError(c, err)
		return
	}
	if len(body.ExpiresTime) == 0 || string(bytes.TrimSpace(body.ExpiresTime)) == "null" {
		drFail(c, http.StatusBadRequest, "missing_parameter", "expiresTime", "'expiresTime' is required.")
		return
	}
	exp, err := parseDRTime(body.ExpiresTime)
	if err != nil {
		drFail(c, http.StatusBadRequest, "invalid_parameter", "expiresTime", "Invalid expiresTime: "+err.Error()+".")
		return
	}
	md, e := drMetadata(body.Metadata)
	if e != nil {
		drFail(c, http.StatusBadRequest, e.Code, e.Parameter, e.Message)
		return
	}
	in := app.CreateInput{Mode: keyOf(c).Mode, FileID: fileID, ExpiresAt: &exp, Metadata: md, Audit: d.audit(c)}
	if link, at, ok := d.createLink(c, in, d.drDomainError); ok {
		c.JSON(http.StatusCreated, d.drLink(link, at))
	}
}

// drUpdateLink handles POST /file-links/{id}.
func (d *Deps) drUpdateLink(c *gin.Context) {
	var body drLinkBody
	if !readDRJSON(c, &body) {
		return
	}
	if body.FileID != nil {
		drFail(c, http.StatusBadRequest, "invalid_parameter", "fileId", "'fileId' cannot be updated.")
		return
	}
	in := app.UpdateInput{Mode: keyOf(c).Mode, LinkID: c.Param("id"), Audit: d.audit(c)}
	if len(body.ExpiresTime) == 0 {
		drFail(c, http.StatusBadRequest, "missing_parameter", "expiresTime", "'expiresTime' is required.")
		return
	}
	exp, err := parseDRTime(body.ExpiresTime)
	if err != nil {
		drFail(c, http.StatusBadRequest, "invalid_parameter", "expiresTime", "Invalid expiresTime: "+err.Error()+".")
		return
	}
	in.Change.Expiry, in.Change.ExpiresAt = domain.ExpirySet, exp
	md, e := drMetadata(body.Metadata)
	if e != nil {
		drFail(c, http.StatusBadRequest, e.Code, e.Parameter, e.Message)
		return
	}
	in.Change.Metadata = md
	link, err := d.Links.Update(c.Request.Context(), in)
	if err != nil {
		d.drDomainError(c, err)
		return
	}
	c.JSON(http.StatusOK, d.drLink(link, d.now()))
}

// drGetLink handles GET /file-links/{id}.
func (d *Deps) drGetLink(c *gin.Context) {
	if !drNoQuery(c) {
		return
	}
	link, err := d.Links.Get(c.Request.Context(), keyOf(c).Mode, c.Param("id"))
	if err != nil {
		d.drDomainError(c, err)
		return
	}
	c.JSON(http.StatusOK, d.drLink(link, d.now()))
}

// drDeleteLink handles DELETE /file-links/{id}: 204 and no body.
func (d *Deps) drDeleteLink(c *gin.Context) {
	if !drNoQuery(c) {
		return
	}
	if err := d.Links.Delete(c.Request.Context(), keyOf(c).Mode, c.Param("id"), d.audit(c)); err != nil {
		d.drDomainError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// drListLinks handles GET /file-links.
func (d *Deps) drListLinks(c *gin.Context) {
	q := domain.ListQuery{Mode: keyOf(c).Mode}
	pg, ok := drListQuery(c, func(k string, vs []string) *drErrorItem {
		v := vs[len(vs)-1]
		switch k {
		case "ids":
			for _, v := range vs {
				for _, id := range strings.Split(v, ",") {
					if id = strings.TrimSpace(id); id != "" {
						q.IDs = append(q.IDs, id)
					}
				}
			}
			if len(q.IDs) > domain.MaxListLimit {
				return &drErrorItem{Code: "invalid_parameter", Parameter: "ids", Message: fmt.Sprintf("At most %d ids may be given.", domain.MaxListLimit)}
			}
		case "fileId":
			q.FileID = v
		case "expired":
			b, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return &drErrorItem{Code: "invalid_parameter", Parameter: "expired", Message: "'expired' must be true or false."}
			}
			q.Expired = &b
		default:
			return drUnknownParam(k)
		}
		return nil
	})
	if !ok {
		return
	}
	q.Limit, q.StartingAfter, q.EndingBefore, q.CreatedFrom, q.CreatedBefore = pg.Limit, pg.StartingAfter, pg.EndingBefore, pg.CreatedFrom, pg.CreatedBefore
	page, err := d.Links.List(c.Request.Context(), q)
	if err != nil {
		d.drDomainError(c, err)
		return
	}
	now := d.now()
	out := drList[drFileLink]{HasMore: page.HasMore, Data: make([]drFileLink, 0, len(page.Links))}
	for _, l := range page.Links {
		out.Data = append(out.Data, d.drLink(l, now))
	}
	c.JSON(http.StatusOK, out)
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

// drAuth authenticates a Digital River request by its secret key (Bearer,
// or Basic with the key as user name).
func (d *Deps) drAuth(c *gin.Context) {
	secret := presentedKey(c.GetHeader("Authorization"))
	key, ok := d.Keys.Lookup(secret)
	if secret == "" || !ok {
		drFail(c, http.StatusUnauthorized, "unauthorized", "", "A valid API key is required: send 'Authorization: Bearer <secret key>'.")
		return
	}
	c.Set(ctxKey, key)
	c.Next()
}
