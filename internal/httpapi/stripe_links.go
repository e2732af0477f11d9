package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/internal/app"
)

var (
	linkExpandable     = map[string]bool{"file": true}
	linkListExpandable = map[string]bool{"data.file": true}
)

// stripeCreateLink handles POST /v1/file_links.
func (d *Deps) stripeCreateLink(c *gin.Context) {
	form, ok := d.stripeForm(c)
	if !ok {
		return
	}
	in := app.CreateInput{Mode: keyOf(c).Mode, Audit: d.audit(c)}
	set := map[string]string{}
	expand := map[string]bool{}
	for _, p := range form {
		var e *stripeError
		switch {
		case p.Base == "file" && p.Sub == nil:
			in.FileID = p.Value
		case p.Base == "expires_at" && p.Sub == nil:
			var t time.Time
			if t, e = parseUnix(p.Key, p.Value); e == nil {
				in.ExpiresAt = &t
			}
		case p.Base == "metadata":
			e = metadataParam(p, &in.Metadata.Clear, set)
		case p.Base == "expand":
			e = expandParam(p, linkExpandable, expand)
		default:
			e = unknownParam(p.Key)
		}
		if e != nil {
			stripeFail(c, http.StatusBadRequest, *e)
			return
		}
	}
	in.Metadata.Set = set
	if link, at, ok := d.createLink(c, in, d.stripeDomainError); ok {
		d.renderStripeLinkAt(c, link, expand["file"], at)
	}
}

// createLink runs a create, through CreateOnce when the request has an
// idempotency key. It returns the link and the time to render it at: now,
// or, for a replay (whose headers it sets), the first request's time. On
// error it answers, with fail for the domain's errors, and returns !ok.
func (d *Deps) createLink(c *gin.Context, in app.CreateInput, fail func(*gin.Context, error)) (domain.Link, time.Time, bool) {
	var link domain.Link
	var replay *app.Replay
	var err error
	if in.Audit.IdempotencyKey != "" {
		link, replay, err = d.Links.CreateOnce(c.Request.Context(), in)
	} else {
		link, err = d.Links.Create(c.Request.Context(), in)
	}
	switch {
	case err != nil:
		fail(c, err)
		return domain.Link{}, time.Time{}, false
	case replay != nil:
		replayed(c, replay.RequestID)
		return link, replay.At, true
	}
	return link, d.now(), true
}

// stripeUpdateLink handles POST /v1/file_links/:id.
func (d *Deps) stripeUpdateLink(c *gin.Context) {
	form, ok := d.stripeForm(c)
	if !ok {
		return
	}
	in := app.UpdateInput{Mode: keyOf(c).Mode, LinkID: c.Param("id"), Audit: d.audit(c)}
	set := map[string]string{}
	expand := map[string]bool{}
	for _, p := range form {
		var e *stripeError
		switch {
		case p.Base == "expires_at" && p.Sub == nil:
			switch p.Value {
			case "now":
				in.Change.Expiry = domain.ExpiryNow
			case "":
				in.Change.Expiry = domain.ExpiryClear
			default:
				var t time.Time
				if t, e = parseUnix(p.Key, p.Value); e == nil {
					in.Change.Expiry, in.Change.ExpiresAt = domain.ExpirySet, t
				}
			}
		case p.Base == "metadata":
			e = metadataParam(p, &in.Change.Metadata.Clear, set)
		case p.Base == "expand":
			e = expandParam(p, linkExpandable, expand)
		default:
			e = unknownParam(p.Key)
		}
		if e != nil {
			stripeFail(c, http.StatusBadRequest, *e)
			return
		}
	}
	in.Change.Metadata.Set = set
	link, err := d.Links.Update(c.Request.Context(), in)
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	d.renderStripeLink(c, link, expand["file"])
}

// stripeGetLink handles GET /v1/file_links/:id.
func (d *Deps) stripeGetLink(c *gin.Context) {
	form, ok := d.stripeForm(c)
	if !ok {
		return
	}
	expand := map[string]bool{}
	for _, p := range form {
		if e := onlyExpand(p, linkExpandable, expand); e != nil {
			stripeFail(c, http.StatusBadRequest, *e)
			return
		}
	}
	link, err := d.Links.Get(c.Request.Context(), keyOf(c).Mode, c.Param("id"))
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	d.renderStripeLink(c, link, expand["file"])
}

// stripeListLinks handles GET /v1/file_links.
func (d *Deps) stripeListLinks(c *gin.Context) {
	q := domain.ListQuery{Mode: keyOf(c).Mode}
	expand := map[string]bool{}
	lp, ok := d.stripeListQuery(c, func(p formParam) (e *stripeError) {
		switch {
		case p.Base == "file" && p.Sub == nil:
			q.FileID = p.Value
		case p.Base == "expired" && p.Sub == nil:
			var b bool
			if b, e = parseBool(p.Key, p.Value); e == nil {
				q.Expired = &b
			}
		case p.Base == "expand":
			e = expandParam(p, linkListExpandable, expand)
		default:
			e = unknownParam(p.Key)
		}
		return e
	})
	if !ok {
		return
	}
	q.Limit, q.StartingAfter, q.EndingBefore = lp.Limit, lp.StartingAfter, lp.EndingBefore
	q.CreatedFrom, q.CreatedBefore = lp.CreatedFrom, lp.CreatedBefore
	page, err := d.Links.List(c.Request.Context(), q)
	if err != nil {
		d.stripeDomainError(c, err)
		return
	}
	now := d.now()
	out := stripeLinkList{Object: "list", Data: make([]stripeFileLink, 0, len(page.Links)), HasMore: page.HasMore, URL: "/v1/file_links"}
	for _, l := range page.Links {
		var file any
		if expand["data.file"] {
			if file, ok = d.expandFile(c, l); !ok {
				return
			}
		}
		out.Data = append(out.Data, d.stripeLink(l, now, file))
	}
	c.JSON(http.StatusOK, out)
}

func (d *Deps) renderStripeLink(c *gin.Context, l domain.Link, expandFile bool) {
	d.renderStripeLinkAt(c, l, expandFile, d.now())
}

// renderStripeLinkAt is renderStripeLink with "expired" as of at.
func (d *Deps) renderStripeLinkAt(c *gin.Context, l domain.Link, expandFile bool, at time.Time) {
	var file any
	if expandFile {
		var ok bool
		if file, ok = d.expandFile(c, l); !ok {
			return
		}
	}
	c.JSON(http.StatusOK, d.stripeLink(l, at, file))
}

// expandFile returns the file object of a link, for expand[]=file.
func (d *Deps) expandFile(c *gin.Context, l domain.Link) (any, bool) {
	f, err := d.Files.Get(c.Request.Context(), l.Mode, l.FileID)
	if err != nil {
		d.stripeDomainError(c, err)
		return nil, false
	}
	return d.stripeFile(f, nil), true
}

// onlyExpand accepts expand parameters and refuses anything else.
func onlyExpand(p formParam, allowed, into map[string]bool) *stripeError {
	if p.Base != "expand" {
		return unknownParam(p.Key)
	}
	return expandParam(p, allowed, into)
}
