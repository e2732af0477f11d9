package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// TestRenderStripeLink pins the bytes of the file_link object that create,
// update and retrieve answer with: field order, HTML escaping, invalid
// UTF-8, sorted metadata keys, null and empty values.
func TestRenderStripeLink(t *testing.T) {
	gin.SetMode(gin.TestMode)
	created := time.Unix(1_790_000_000, 123).UTC()
	expires := created.Add(time.Hour)
	for _, c := range []struct {
		name string
		link domain.Link
		at   time.Time
		want string
	}{
		{"Plain", domain.Link{ID: "link_abc", Mode: events.ModeLive, FileID: "file_1", Token: "link_abc.s3cr3t", Created: created,
			ExpiresAt: &expires, Version: 1}, created,
			`{"id":"link_abc","object":"file_link","created":1790000000,"expired":false,"expires_at":1790003600,"file":"file_1",` +
				`"livemode":true,"metadata":{},"url":"http://x/links/link_abc.s3cr3t"}`},
		{"Escaped", domain.Link{ID: "link_<&>", Mode: events.ModeTest, FileID: `file_"\`, Token: "t", Created: created,
			ExpiresAt: &expires, Metadata: map[string]string{"z": "1", "<a>": "&", "é": "\xff\u2028\n"}, Version: 2}, expires,
			`{"id":"link_\u003c\u0026\u003e","object":"file_link","created":1790000000,"expired":true,"expires_at":1790003600,` +
				`"file":"file_\"\\","livemode":false,"metadata":{"\u003ca\u003e":"\u0026","z":"1","é":"\ufffd\u2028\n"},"url":"http://x/links/t"}`},
		{"NoExpiry", domain.Link{ID: "link_1", Mode: events.ModeTest, FileID: "file_1", Token: "t", Created: created,
			Metadata: map[string]string{}}, created,
			`{"id":"link_1","object":"file_link","created":1790000000,"expired":false,"expires_at":null,"file":"file_1",` +
				`"livemode":false,"metadata":{},"url":"http://x/links/t"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			ctx, _ := gin.CreateTestContext(w)
			d := &Deps{PublicURL: "http://x"}
			d.renderStripeLinkAt(ctx, c.link, false, c.at)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
			}
			if got := w.Body.String(); got != c.want {
				t.Errorf("body\n got %s\nwant %s", got, c.want)
			}
		})
	}
}
