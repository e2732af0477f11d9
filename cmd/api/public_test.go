package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock for the service.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// get fetches a public URL with extra headers.
func get(t *testing.T, method, rawURL string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// shareFile uploads content under filename and links it; it returns the
// link's public URL (on the test server) and the link id.
func (in *instance) shareFile(content []byte, filename string, linkVals url.Values) (string, string) {
	in.t.Helper()
	r := in.upload(testKey, content, map[string]string{"purpose": "dispute_evidence", "_filename": filename})
	if r.Status != 200 {
		in.t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	if linkVals == nil {
		linkVals = url.Values{}
	}
	linkVals.Set("file", r.json(in.t)["id"].(string))
	l := in.form("POST", "/v1/file_links", testKey, linkVals)
	if l.Status != 200 {
		in.t.Fatalf("link: %d %s", l.Status, l.Body)
	}
	m := l.json(in.t)
	u, _ := url.Parse(m["url"].(string))
	return in.base + u.Path, m["id"].(string)
}

func TestPublicLink_Download(t *testing.T) {
	in := startWith(t, "", map[string]string{"FILELINKS_MAX_UPLOAD_BYTES": "8388608"})
	content := make([]byte, 3<<20+12345)
	rand.Read(content)
	// A PNG signature: the type is detected from the content, not the name.
	copy(content, "\x89PNG\r\n\x1a\n")
	link, _ := in.shareFile(content, "photo.txt", nil)

	full := get(t, "GET", link)
	if full.Status != 200 || !bytes.Equal(full.Body, content) {
		t.Fatalf("download: %d, %d bytes (want %d)", full.Status, len(full.Body), len(content))
	}
	h := full.Header
	for k, want := range map[string]string{
		"Content-Type":           "image/png",
		"Content-Length":         strconv.Itoa(len(content)),
		"Accept-Ranges":          "bytes",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "private, max-age=0, must-revalidate",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !strings.HasPrefix(h.Get("Content-Disposition"), `inline; filename="photo.txt"`) {
		t.Errorf("CSP %q, disposition %q", h.Get("Content-Security-Policy"), h.Get("Content-Disposition"))
	}
	etag, lastMod := h.Get("ETag"), h.Get("Last-Modified")
	if len(etag) != 66 || strings.HasPrefix(etag, "W/") || lastMod == "" {
		t.Fatalf("validators: ETag %q, Last-Modified %q", etag, lastMod)
	}

	t.Run("HEAD", func(t *testing.T) {
		r := get(t, "HEAD", link)
		if r.Status != 200 || len(r.Body) != 0 || r.Header.Get("Content-Length") != strconv.Itoa(len(content)) || r.Header.Get("ETag") != etag {
			t.Fatalf("HEAD: %d %v body %d", r.Status, r.Header, len(r.Body))
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		n := len(content)
		chunk := 128 << 10
		for _, tc := range []struct {
			rng        string
			from, to   int // inclusive
			contentRng string
		}{
			{"bytes=0-0", 0, 0, fmt.Sprintf("bytes 0-0/%d", n)},
			{fmt.Sprintf("bytes=%d-%d", chunk-10, chunk+10), chunk - 10, chunk + 10, fmt.Sprintf("bytes %d-%d/%d", chunk-10, chunk+10, n)},
			{"bytes=-500", n - 500, n - 1, fmt.Sprintf("bytes %d-%d/%d", n-500, n-1, n)},
			{fmt.Sprintf("bytes=%d-", n-1), n - 1, n - 1, fmt.Sprintf("bytes %d-%d/%d", n-1, n-1, n)},
			{fmt.Sprintf("bytes=%d-%d", n-10, n+1000), n - 10, n - 1, fmt.Sprintf("bytes %d-%d/%d", n-10, n-1, n)},
		} {
			r := get(t, "GET", link, "Range", tc.rng)
			if r.Status != 206 || r.Header.Get("Content-Range") != tc.contentRng || !bytes.Equal(r.Body, content[tc.from:tc.to+1]) {
				t.Errorf("%s: %d %q, %d bytes", tc.rng, r.Status, r.Header.Get("Content-Range"), len(r.Body))
			}
		}
		past := get(t, "GET", link, "Range", fmt.Sprintf("bytes=%d-", n))
		if past.Status != 416 || past.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", n) {
			t.Errorf("past the end: %d %q", past.Status, past.Header.Get("Content-Range"))
		}
		two := get(t, "GET", link, "Range", "bytes=0-1,10-11")
		if two.Status != 206 || !strings.HasPrefix(two.Header.Get("Content-Type"), "multipart/byteranges") {
			t.Errorf("two ranges: %d %q", two.Status, two.Header.Get("Content-Type"))
		}
	})

	t.Run("Conditional", func(t *testing.T) {
		if r := get(t, "GET", link, "If-None-Match", etag); r.Status != 304 || len(r.Body) != 0 {
			t.Errorf("If-None-Match: %d", r.Status)
		}
		if r := get(t, "GET", link, "If-None-Match", `"other"`); r.Status != 200 {
			t.Errorf("If-None-Match other: %d", r.Status)
		}
		if r := get(t, "GET", link, "If-Modified-Since", lastMod); r.Status != 304 {
			t.Errorf("If-Modified-Since: %d", r.Status)
		}
		if r := get(t, "GET", link, "Range", "bytes=0-9", "If-Range", etag); r.Status != 206 || len(r.Body) != 10 {
			t.Errorf("If-Range match: %d", r.Status)
		}
		if r := get(t, "GET", link, "Range", "bytes=0-9", "If-Range", `"stale"`); r.Status != 200 || len(r.Body) != len(content) {
			t.Errorf("If-Range mismatch: %d, %d bytes", r.Status, len(r.Body))
		}
	})

	t.Run("APIContents", func(t *testing.T) {
		fileURL := in.form("GET", "/v1/files", testKey, url.Values{"limit": {"1"}}).json(t)["data"].([]any)[0].(map[string]any)["url"].(string)
		u, _ := url.Parse(fileURL)
		r := in.do("GET", u.Path, testKey, "", nil)
		if r.Status != 200 || !bytes.Equal(r.Body, content) {
			t.Fatalf("contents with key: %d, %d bytes", r.Status, len(r.Body))
		}
		if r := in.do("GET", u.Path, "", "", nil); r.Status != 401 {
			t.Fatalf("contents without key: %d", r.Status)
		}
	})
}

func TestPublicLink_SafeServing(t *testing.T) {
	in := start(t, "")
	html, _ := in.shareFile([]byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "page.pdf", nil)
	r := get(t, "GET", html)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("HTML upload: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	uni, _ := in.shareFile([]byte("plain text"), "résumé «final» 日本.txt", nil)
	d := get(t, "GET", uni).Header.Get("Content-Disposition")
	want := `inline; filename="r_sum_ _final_ __.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%C2%ABfinal%C2%BB%20%E6%97%A5%E6%9C%AC.txt`
	if d != want {
		t.Fatalf("Unicode name:\n got %s\nwant %s", d, want)
	}
}

func TestPublicLink_Refusals(t *testing.T) {
	var clk clock
	t0 := time.Now().Truncate(time.Second).Add(time.Second)
	clk.set(t0)
	in := startWith(t, "", nil, WithClock(clk.now))
	deadline := t0.Add(10 * time.Second)
	expiring, _ := in.shareFile(pdf, "a.pdf", url.Values{"expires_at": {strconv.FormatInt(deadline.Unix(), 10)}})
	deleted, deletedID := in.shareFile(pdf, "b.pdf", nil)
	other, _ := in.shareFile(pdf, "c.pdf", nil)

	notFound := get(t, "GET", in.base+"/links/"+strings.Repeat("A", 43))
	if notFound.Status != 404 {
		t.Fatalf("unknown token: %d", notFound.Status)
	}
	tok := other[strings.LastIndex(other, "/")+1:]
	flip := "A"
	if tok[5] == 'A' {
		flip = "B"
	}
	tampered := get(t, "GET", in.base+"/links/"+tok[:5]+flip+tok[6:])
	if tampered.Status != 404 || !bytes.Equal(tampered.Body, notFound.Body) {
		t.Fatalf("tampered token: %d %q vs %q", tampered.Status, tampered.Body, notFound.Body)
	}
	for _, p := range []string{"/links/short", "/links/" + tok + "x", "/links/..%2F..%2Fetc%2Fpasswd", "/links/%00" + tok[1:], "/links/" + tok + "/x", "/links/" + strings.Repeat("a", 5000)} {
		if r := get(t, "GET", in.base+p); r.Status != 404 || !bytes.Equal(r.Body, notFound.Body) {
			t.Errorf("%s: %d %q", p, r.Status, r.Body)
		}
	}

	// Exactly at the boundary: usable 1ns before expires_at, gone from it.
	clk.set(deadline.Add(-time.Nanosecond))
	if r := get(t, "GET", expiring); r.Status != 200 {
		t.Fatalf("1ns before expiry: %d", r.Status)
	}
	clk.set(deadline)
	gone := get(t, "GET", expiring)
	if gone.Status != 410 || gone.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("at expiry: %d %v", gone.Status, gone.Header)
	}
	if r := get(t, "GET", expiring, "Range", "bytes=0-1"); r.Status != 410 {
		t.Fatalf("range after expiry: %d", r.Status)
	}

	// Deleted (through the Digital River dialect): 404, like unknown.
	if r := in.do("DELETE", "/file-links/"+deletedID, testKey, "", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := get(t, "GET", deleted); r.Status != 404 || !bytes.Equal(r.Body, notFound.Body) {
		t.Fatalf("deleted link: %d %q", r.Status, r.Body)
	}

	// Absurd ranges never fail the server.
	for _, rng := range []string{"bytes=abc", "bytes=99999999999999999999-", "bytes=5-1", strings.Repeat("bytes=0-0,", 2000), "pages=1-2", "bytes=-0"} {
		r := get(t, "GET", other, "Range", rng)
		if r.Status >= 500 || (r.Status != 200 && r.Status != 206 && r.Status != 416) {
			t.Errorf("Range %.40q: %d", rng, r.Status)
		}
	}
	if r := get(t, "GET", other, "X-Huge", strings.Repeat("x", 100<<10)); r.Status != 431 {
		t.Errorf("huge header: %d", r.Status)
	}
}

func TestPublicLink_RateLimit(t *testing.T) {
	in := startWith(t, "", map[string]string{"FILELINKS_LINK_RATE": "0.5", "FILELINKS_LINK_BURST": "3"})
	link, _ := in.shareFile(pdf, "a.pdf", nil)
	for i := 0; i < 3; i++ {
		if r := get(t, "GET", link); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := get(t, "GET", link)
	if r.Status != 429 {
		t.Fatalf("4th request: %d", r.Status)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	// Unknown tokens count too, so guessing is limited.
	if r := get(t, "GET", in.base+"/links/"+strings.Repeat("B", 43)); r.Status != 429 {
		t.Fatalf("unknown token while limited: %d", r.Status)
	}
	// The API is not limited by the public URL limiter.
	if r := in.do("GET", "/v1/files?limit=1", testKey, "", nil); r.Status != 200 {
		t.Fatalf("API while limited: %d", r.Status)
	}
}
