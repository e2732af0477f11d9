package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/app"
)

// stripeUploadFile handles POST /v1/files: a multipart upload whose file
// part is streamed into the content store, never held in memory.
func (d *Deps) stripeUploadFile(c *gin.Context) {
	staged, fields, fail := d.readUpload(c)
	if fail != nil {
		if fail.err != nil {
			d.stripeDomainError(c, fail.err)
			return
		}
		stripeFail(c, fail.status, stripeError{Type: stripeInvalidRequest, Code: fail.code, Param: fail.param, Message: fail.msg})
		return
	}
	in, e := d.uploadInput(c, newStripeForm(fields))
	if e == nil && staged == nil {
		e = &stripeError{Type: stripeInvalidRequest, Code: "parameter_missing", Param: "file", Message: "Missing required param: file."}
	}
	if e != nil {
		d.discard(c, staged)
		stripeFail(c, http.StatusBadRequest, *e)
		return
	}
	// Commit decides the link before storing the file, so an error here
	// leaves at most a stored file whose link creation failed afterwards.
	file, link, err := d.Files.Commit(c.Request.Context(), *staged, in)
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	links := &stripeLinkList{Object: "list", Data: []stripeFileLink{}, URL: "/v1/file_links?file=" + file.ID}
	if link != nil {
		links.Data = append(links.Data, d.stripeLink(*link, d.now(), nil))
	}
	c.JSON(http.StatusOK, d.stripeFile(file, links))
}

// uploadInput reads the non-file fields of an upload.
func (d *Deps) uploadInput(c *gin.Context, form stripeForm) (app.UploadInput, *stripeError) {
	in := app.UploadInput{Mode: keyOf(c).Mode, Audit: d.audit(c)}
	link := domain.LinkSettings{}
	set := map[string]string{}
	create, linkFields := "", false
	for _, p := range form {
		switch {
		case p.Base == "purpose" && p.Sub == nil:
			in.Purpose = p.Value
		case p.Base == "expand":
			if e := expandParam(p, map[string]bool{"links": true}, map[string]bool{}); e != nil {
				return in, e
			}
		case p.Base == "file_link_data" && len(p.Sub) == 1 && p.Sub[0] == "create":
			create = p.Value
		case p.Base == "file_link_data" && len(p.Sub) == 1 && p.Sub[0] == "expires_at":
			t, e := parseUnix(p.Key, p.Value)
			if e != nil {
				return in, e
			}
			link.ExpiresAt, linkFields = &t, true
		case p.Base == "file_link_data" && len(p.Sub) >= 1 && p.Sub[0] == "metadata":
			mp := formParam{Key: p.Key, Base: "metadata", Sub: p.Sub[1:], Value: p.Value}
			if e := metadataParam(mp, &link.Metadata.Clear, set); e != nil {
				return in, e
			}
			linkFields = true
		default:
			return in, unknownParam(p.Key)
		}
	}
	link.Metadata.Set = set
	switch create {
	case "true":
		in.Link = &link
	case "false":
	case "":
		if linkFields {
			return in, &stripeError{Type: stripeInvalidRequest, Code: "parameter_missing", Param: "file_link_data[create]",
				Message: "Missing required param: file_link_data[create]."}
		}
	default:
		_, e := parseBool("file_link_data[create]", create)
		return in, e
	}
	return in, nil
}

// stripeGetFile handles GET /v1/files/:id.
func (d *Deps) stripeGetFile(c *gin.Context) {
	form, ok := d.stripeForm(c)
	if !ok {
		return
	}
	for _, p := range form {
		if e := onlyExpand(p, map[string]bool{"links": true}, map[string]bool{}); e != nil {
			stripeFail(c, http.StatusBadRequest, *e)
			return
		}
	}
	mode := keyOf(c).Mode
	f, err := d.Files.Get(c.Request.Context(), mode, c.Param("id"))
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	out, ok := d.stripeFileWithLinks(c, f)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, out)
}

// stripeListFiles handles GET /v1/files.
func (d *Deps) stripeListFiles(c *gin.Context) {
	q := domain.FileQuery{Mode: keyOf(c).Mode}
	lp, ok := d.stripeListQuery(c, func(p formParam) *stripeError {
		switch {
		case p.Base == "purpose" && p.Sub == nil:
			q.Purpose = p.Value
		case p.Base == "expand":
			return expandParam(p, map[string]bool{"data.links": true}, map[string]bool{})
		default:
			return unknownParam(p.Key)
		}
		return nil
	})
	if !ok {
		return
	}
	q.Limit, q.StartingAfter, q.EndingBefore = lp.Limit, lp.StartingAfter, lp.EndingBefore
	q.CreatedFrom, q.CreatedBefore = lp.CreatedFrom, lp.CreatedBefore
	page, err := d.Files.List(c.Request.Context(), q)
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	out := stripeList[stripeFile]{Object: "list", Data: make([]stripeFile, 0, len(page.Files)), HasMore: page.HasMore, URL: "/v1/files"}
	for _, f := range page.Files {
		sf, ok := d.stripeFileWithLinks(c, f)
		if !ok {
			return
		}
		out.Data = append(out.Data, sf)
	}
	c.JSON(http.StatusOK, out)
}

// stripeFileWithLinks renders a file with the first page of its links.
func (d *Deps) stripeFileWithLinks(c *gin.Context, f events.FileState) (stripeFile, bool) {
	page, err := d.Links.List(c.Request.Context(), domain.ListQuery{Mode: f.Mode, FileID: f.ID, Limit: 10})
	if err != nil {
		d.stripeDomainError(c, err)
		return stripeFile{}, false
	}
	now := d.now()
	links := &stripeLinkList{Object: "list", Data: make([]stripeFileLink, 0, len(page.Links)), HasMore: page.HasMore,
		URL: "/v1/file_links?file=" + f.ID}
	for _, l := range page.Links {
		links.Data = append(links.Data, d.stripeLink(l, now, nil))
	}
	return d.stripeFile(f, links), true
}
