package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// routes declares every route of the service.
func routes(r *gin.Engine, d *Deps) {
	r.Use(requestID(d.Logger), recoverer(d.Logger, errorFor), boundedQuery(errorFor))

	r.GET("/healthz", d.healthz)
	r.HEAD("/healthz", d.healthz)
	r.GET("/readyz", d.readyz)

	limiter := d.rateLimited(newIPLimiter(d.LinkRate, d.LinkBurst, d.now))
	r.GET("/links/:token", limiter, d.serveLink)
	r.HEAD("/links/:token", limiter, d.serveLink)

	v1 := r.Group("/v1", d.stripeAuth)
	v1.POST("/file_links", d.idempotencyKeyOnly, d.stripeCreateLink) // idempotent by itself: app.Links.CreateOnce
	v1.GET("/file_links", d.stripeListLinks)
	v1.GET("/file_links/:id", d.stripeGetLink)
	v1.POST("/file_links/:id", d.idempotent, d.stripeUpdateLink)
	v1.POST("/files", d.idempotent, d.stripeUploadFile)
	v1.GET("/files", d.stripeListFiles)
	v1.GET("/files/:id", d.stripeGetFile)
	v1.GET("/files/:id/contents", d.stripeFileContents)
	v1.HEAD("/files/:id/contents", d.stripeFileContents)

	dr := r.Group("", d.drAuth)
	dr.POST("/file-links", d.idempotencyKeyOnly, d.drCreateLink) // idempotent by itself: app.Links.CreateOnce
	dr.GET("/file-links", d.drListLinks)
	dr.GET("/file-links/:id", d.drGetLink)
	dr.POST("/file-links/:id", d.idempotent, d.drUpdateLink)
	dr.DELETE("/file-links/:id", d.drDeleteLink)
	dr.POST("/files", d.idempotent, d.drUploadFile)
	dr.GET("/files", d.drListFiles)
	dr.GET("/files/:id", d.drGetFile)

	r.NoRoute(func(c *gin.Context) {
		msg := "Unrecognized request URL (" + c.Request.Method + ": " + truncate(c.Request.URL.Path, 200) + ")."
		errorFor(c, http.StatusNotFound, msg)
	})
}

// isStripe reports whether the request's path is of the Stripe dialect.
func isStripe(c *gin.Context) bool {
	p := c.Request.URL.Path
	return strings.HasPrefix(p, "/v1/") || p == "/v1"
}

// domainError renders an error from the app in the dialect of the
// request's path, for the middleware both dialects share.
func (d *Deps) domainError(c *gin.Context, err error) {
	if isStripe(c) {
		d.stripeDomainError(c, err)
		return
	}
	d.drDomainError(c, err)
}

// errorFor writes an error in the dialect of the request's path.
func errorFor(c *gin.Context, status int, msg string) {
	switch p := c.Request.URL.Path; {
	case isStripe(c):
		stripeStatus(c, status, msg)
	case strings.HasPrefix(p, "/file-links") || strings.HasPrefix(p, "/files"):
		drStatus(c, status, msg)
	case strings.HasPrefix(p, "/links"):
		publicFail(c, status)
	default:
		c.AbortWithStatusJSON(status, gin.H{"error": gin.H{"message": msg}})
	}
}
