package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/app"
)

// drFile is Digital River's File object.
type drFile struct {
	ID          string             `json:"id"`
	CreatedTime string             `json:"createdTime"`
	FileName    string             `json:"fileName"`
	Links       drList[drFileLink] `json:"links"`
	LiveMode    bool               `json:"liveMode"`
	Purpose     string             `json:"purpose"`
	Size        int64              `json:"size"`
	Title       string             `json:"title,omitempty"`
	Type        string             `json:"type"`
	URL         string             `json:"url"`
}

func (d *Deps) drFileWithLinks(c *gin.Context, f events.FileState) (drFile, bool) {
	page, err := d.Links.List(c.Request.Context(), domain.ListQuery{Mode: f.Mode, FileID: f.ID, Limit: 10})
	if err != nil {
		d.drDomainError(c, err)
		return drFile{}, false
	}
	now := d.now()
	links := drList[drFileLink]{HasMore: page.HasMore, Data: make([]drFileLink, 0, len(page.Links))}
	for _, l := range page.Links {
		links.Data = append(links.Data, d.drLink(l, now))
	}
	return drFile{
		ID:          f.ID,
		CreatedTime: drTime(f.Created),
		FileName:    f.Filename,
		Links:       links,
		LiveMode:    f.Mode == events.ModeLive,
		Purpose:     f.Purpose,
		Size:        f.Size,
		Title:       f.Title,
		Type:        f.Type,
		URL:         d.PublicURL + "/v1/files/" + f.ID + "/contents",
	}, true
}

// drUploadFile handles POST /files: multipart with file, purpose, and
// optionally fileName, title and linkExpiresTime (which also makes a link).
func (d *Deps) drUploadFile(c *gin.Context) {
	staged, fields, fail := d.readUpload(c)
	if fail != nil {
		if fail.err != nil {
			d.drDomainError(c, fail.err)
			return
		}
		drFail(c, fail.status, fail.code, fail.param, fail.msg)
		return
	}
	in := app.UploadInput{Mode: keyOf(c).Mode, Audit: d.audit(c)}
	var e *drErrorItem
	for k, vs := range fields {
		v := vs[len(vs)-1]
		switch k {
		case "purpose":
			in.Purpose = v
		case "title":
			in.Title = v
		case "fileName":
			if staged != nil {
				staged.Filename = domain.CleanFilename(v)
			}
		case "linkExpiresTime":
			raw, _ := json.Marshal(v)
			t, err := parseDRTime(raw)
			if err != nil {
				e = &drErrorItem{Code: "invalid_parameter", Parameter: "linkExpiresTime", Message: "Invalid linkExpiresTime: " + err.Error() + "."}
				break
			}
			in.Link = &domain.LinkSettings{ExpiresAt: &t}
		default:
			e = drUnknownParam(k)
		}
		if e != nil {
			break
		}
	}
	if e == nil && staged == nil {
		e = &drErrorItem{Code: "missing_parameter", Parameter: "file", Message: "'file' is required."}
	}
	if e != nil {
		d.discard(c, staged)
		drFail(c, http.StatusBadRequest, e.Code, e.Parameter, e.Message)
		return
	}
	file, _, err := d.Files.Commit(c.Request.Context(), *staged, in)
	if err != nil {
		d.drDomainError(c, err)
		return
	}
	out, ok := d.drFileWithLinks(c, file)
	if !ok {
		return
	}
	c.JSON(http.StatusCreated, out)
}

// drGetFile handles GET /files/{id}.
func (d *Deps) drGetFile(c *gin.Context) {
	if !drNoQuery(c) {
		return
	}
	f, err := d.Files.Get(c.Request.Context(), keyOf(c).Mode, c.Param("id"))
	if err != nil {
		d.drDomainError(c, err)
		return
	}
	out, ok := d.drFileWithLinks(c, f)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, out)
}

// drListFiles handles GET /files.
func (d *Deps) drListFiles(c *gin.Context) {
	q := domain.FileQuery{Mode: keyOf(c).Mode}
	pg, ok := drListQuery(c, func(k string, vs []string) *drErrorItem {
		if k != "purpose" {
			return drUnknownParam(k)
		}
		q.Purpose = vs[len(vs)-1]
		return nil
	})
	if !ok {
		return
	}
	q.Limit, q.StartingAfter, q.EndingBefore, q.CreatedFrom, q.CreatedBefore = pg.Limit, pg.StartingAfter, pg.EndingBefore, pg.CreatedFrom, pg.CreatedBefore
	page, err := d.Files.List(c.Request.Context(), q)
	if err != nil {
		d.drDomainError(c, err)
		return
	}
	out := drList[drFile]{HasMore: page.HasMore, Data: make([]drFile, 0, len(page.Files))}
	for _, f := range page.Files {
		df, ok := d.drFileWithLinks(c, f)
		if !ok {
			return
		}
		out.Data = append(out.Data, df)
	}
	c.JSON(http.StatusOK, out)
}
