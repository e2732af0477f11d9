// Package httpapi is the HTTP face of filelinks: the Stripe dialect under
// /v1, the Digital River dialect under /file-links and /files, health
// checks, and the public link URLs. It is the only package that imports Gin.
//
// Handlers are thin: they bind and check the request's shape, build an
// app command or query, call it, and render the result. They decide no
// business rule, and *gin.Context never leaves this package. Each dialect
// maps *domain.Error to its own error format in one function.
//
// Every request is bounded: header bytes by the server, the query string,
// form bodies and uploads by the limits here, so bad input gets a clear 4xx
// and never a 5xx, a panic or a partial write.
package httpapi
