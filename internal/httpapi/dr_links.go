package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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
