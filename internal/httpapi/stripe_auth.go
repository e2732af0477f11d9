package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/events"
)

const stripeNoKeyMessage = "You did not provide an API key. You need to provide your API key in the Authorization header, " +
	"using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication " +
	"for details, or we can help at https://support.stripe.com/."

// stripeAuth authenticates a /v1 request by its secret key, which also
// decides the mode every object of the request lives in.
func (d *Deps) stripeAuth(c *gin.Context) {
	secret := presentedKey(c.GetHeader("Authorization"))
	if secret == "" {
		stripeFail(c, http.StatusUnauthorized, stripeError{Type: stripeInvalidRequest, Message: stripeNoKeyMessage})
		return
	}
	key, ok := d.Keys.Lookup(secret)
	if !ok {
		stripeFail(c, http.StatusUnauthorized, stripeError{Type: stripeInvalidRequest,
			Message: "Invalid API Key provided: " + maskKey(secret)})
		return
	}
	c.Set(ctxKey, key)
	c.Next()
}

// keyOf returns the key that authenticated the request.
func keyOf(c *gin.Context) Key {
	k, _ := c.Get(ctxKey)
	if key, ok := k.(*Key); ok {
		return *key
	}
	return Key{}
}

// audit returns who is acting in this request, for the events it causes.
func (d *Deps) audit(c *gin.Context) events.Audit {
	return events.Audit{
		Actor:          "api",
		KeyID:          keyOf(c).ID,
		RequestID:      getRequestID(c),
		IdempotencyKey: c.GetHeader("Idempotency-Key"),
	}
}

// stripeForm reads the request's parameters or answers with the error.
func (d *Deps) stripeForm(c *gin.Context) (stripeForm, bool) {
	form, e, status := readStripeForm(c)
	if e != nil {
		stripeFail(c, status, *e)
		return nil, false
	}
	return form, true
}
