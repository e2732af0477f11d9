package main

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestIdempotentCreate: a link created with an Idempotency-Key is made
// idempotent by the event log itself (app.Links.CreateOnce): retries,
// concurrent or much later, answer with the first response, whatever
// happened to the link since.
func TestIdempotentCreate(t *testing.T) {
	var clk clock
	t0 := time.Now().Truncate(time.Second).Add(time.Second)
	clk.set(t0)
	in := startWith(t, "", nil, WithClock(clk.now))
	fileID := in.uploadFile(testKey)
	deadline := t0.Add(10 * time.Second)
	vals := url.Values{"file": {fileID}, "expires_at": {strconv.FormatInt(deadline.Unix(), 10)}, "metadata[a]": {"1"}}

	first := in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", "late-retry")
	if first.Status != 200 || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	id := first.json(t)["id"].(string)

	// After the link expired, the same request would now be refused
	// (expires_at in the past), but it is a retry: the first response.
	clk.set(deadline.Add(time.Minute))
	late := in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", "late-retry")
	if late.Status != 200 || late.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(late.Body, first.Body) ||
		late.Header.Get("Original-Request") != first.Header.Get("Request-Id") {
		t.Fatalf("retry after expiry: %d %v\n%s\nwant\n%s", late.Status, late.Header, late.Body, first.Body)
	}
	// Deleted since: still the first response, and no new link.
	if r := in.do("DELETE", "/file-links/"+id, testKey, "", nil); r.Status != 204 { // Stripe has no delete; DR has
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", "late-retry"); r.Status != 200 ||
		!bytes.Equal(r.Body, first.Body) {
		t.Fatalf("retry after delete: %d %s", r.Status, r.Body)
	}
	if r := in.do("GET", "/v1/file_links/"+id, testKey, "", nil); r.Status != 404 {
		t.Fatalf("the deleted link came back: %d %s", r.Status, r.Body)
	}
	// Other parameters under the key: refused, before and after expiry,
	// even when they would fail on their own (a file that does not exist).
	for _, v := range []url.Values{
		{"file": {fileID}, "expires_at": vals["expires_at"], "metadata[a]": {"2"}},
		{"file": {fileID}, "metadata[a]": {"1"}},
		{"file": {"file_missing"}, "metadata[a]": {"1"}},
	} {
		r := in.form("POST", "/v1/file_links", testKey, v, "Idempotency-Key", "late-retry")
		if r.Status != 400 || r.stripeErr(t)["type"] != "idempotency_error" {
			t.Fatalf("other parameters %v: %d %s", v, r.Status, r.Body)
		}
	}

	// Concurrent requests with one key: all answer with the one link made.
	clk.set(t0)
	const n = 12
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range results {
		wg.Go(func() {
			results[i] = in.form("POST", "/v1/file_links", testKey, url.Values{"file": {fileID}}, "Idempotency-Key", "together")
		})
	}
	wg.Wait()
	made := 0
	for _, r := range results {
		if r.Status != 200 || !bytes.Equal(r.Body, results[0].Body) {
			t.Fatalf("concurrent: %d %s (first %s)", r.Status, r.Body, results[0].Body)
		}
		if r.Header.Get("Idempotent-Replayed") == "" {
			made++
		}
	}
	if made != 1 {
		t.Fatalf("%d of %d concurrent requests say they created the link", made, n)
	}
	list := in.do("GET", "/v1/file_links?limit=100", testKey, "", nil)
	if c := strings.Count(string(list.Body), `"id":"`+results[0].json(t)["id"].(string)+`"`); c != 1 {
		t.Fatalf("the link is listed %d times", c)
	}

	// Under another API key the same idempotency key names another link.
	live := in.uploadFile(liveKey)
	other := in.form("POST", "/v1/file_links", liveKey, url.Values{"file": {live}}, "Idempotency-Key", "together")
	if other.Status != 200 || other.json(t)["id"] == results[0].json(t)["id"] || other.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another API key, same idempotency key: %d %s", other.Status, other.Body)
	}
}

// TestIdempotentCreate_DigitalRiver: the same for POST /file-links.
func TestIdempotentCreate_DigitalRiver(t *testing.T) {
	in := start(t, "")
	fileID := in.uploadFile(testKey)
	body := seedCreate(fileID, "2099")
	post := func(body string) response {
		return in.do("POST", "/file-links", testKey, "application/json", strings.NewReader(body), "Idempotency-Key", "dr-1")
	}
	first := post(body)
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := post(body)
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
	}
	other := post(seedCreate(fileID, "2098"))
	if _, e := other.drErr(t); other.Status != 400 || e["code"] != "idempotency_error" {
		t.Fatalf("other parameters: %d %s", other.Status, other.Body)
	}
	latin1 := in.do("POST", "/file-links", testKey, "application/json", strings.NewReader(body), "Idempotency-Key", "cl\xe9")
	if _, e := latin1.drErr(t); latin1.Status != 400 || e["code"] != "invalid_parameter" || e["parameter"] != "Idempotency-Key" {
		t.Fatalf("non-ASCII key: %d %s", latin1.Status, latin1.Body)
	}
	long := in.do("POST", "/file-links", testKey, "application/json", strings.NewReader(body), "Idempotency-Key", strings.Repeat("k", 256))
	if _, e := long.drErr(t); long.Status != 400 || e["code"] != "invalid_parameter" {
		t.Fatalf("256-character key: %d %s", long.Status, long.Body)
	}
}
