package main

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestStripeErrors sends bad requests of every kind: each gets a 4xx in
// Stripe's format naming the offending param, and nothing is written.
func TestStripeErrors(t *testing.T) {
	in := start(t, "")
	fileID := in.uploadFile(testKey)
	before := in.form(http.MethodGet, "/v1/file_links", testKey, url.Values{"limit": {"100"}})
	if before.Status != 200 {
		t.Fatalf("list: %d %s", before.Status, before.Body)
	}

	cases := []struct {
		name   string
		method string
		path   string
		key    string
		vals   url.Values
		status int
		typ    string
		code   string
		param  string
	}{
		{"NoKey", "GET", "/v1/file_links", "", nil, 401, "invalid_request_error", "", ""},
		{"WrongKey", "GET", "/v1/file_links", "sk_test_wrong_key_0000", nil, 401, "invalid_request_error", "", ""},
		{"UnknownParam", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "colour": {"red"}}, 400, "invalid_request_error", "parameter_unknown", "colour"},
		{"UnknownNested", "GET", "/v1/file_links", testKey, url.Values{"created[near]": {"1"}}, 400, "invalid_request_error", "parameter_unknown", "created[near]"},
		{"MissingFile", "POST", "/v1/file_links", testKey, url.Values{"metadata[a]": {"b"}}, 400, "invalid_request_error", "parameter_missing", "file"},
		{"NoSuchFile", "POST", "/v1/file_links", testKey, url.Values{"file": {"file_nope"}}, 400, "invalid_request_error", "resource_missing", "file"},
		{"BadFileID", "POST", "/v1/file_links", testKey, url.Values{"file": {"../../etc"}}, 400, "invalid_request_error", "resource_missing", "file"},
		{"ExpiresNotInteger", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "expires_at": {"soon"}}, 400, "invalid_request_error", "parameter_invalid_integer", "expires_at"},
		{"ExpiresInPast", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "expires_at": {"1000"}}, 400, "invalid_request_error", "parameter_invalid_integer", "expires_at"},
		{"ExpiresHuge", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "expires_at": {"99999999999999999999"}}, 400, "invalid_request_error", "parameter_invalid_integer", "expires_at"},
		{"MetadataKeyBracket", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "metadata[a[b]": {"x"}}, 400, "invalid_request_error", "", "metadata"},
		{"MetadataValueLong", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "metadata[a]": {strings.Repeat("x", 501)}}, 400, "invalid_request_error", "", "metadata"},
		{"MetadataNested", "POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "metadata[a][b]": {"x"}}, 400, "invalid_request_error", "", "metadata[a][b]"},
		{"BadExpand", "GET", "/v1/file_links", testKey, url.Values{"expand[]": {"nope"}}, 400, "invalid_request_error", "", "expand[]"},
		{"LimitZero", "GET", "/v1/file_links", testKey, url.Values{"limit": {"0"}}, 400, "invalid_request_error", "parameter_invalid_integer", "limit"},
		{"LimitBig", "GET", "/v1/file_links", testKey, url.Values{"limit": {"101"}}, 400, "invalid_request_error", "parameter_invalid_integer", "limit"},
		{"LimitText", "GET", "/v1/file_links", testKey, url.Values{"limit": {"ten"}}, 400, "invalid_request_error", "parameter_invalid_integer", "limit"},
		{"BothCursors", "GET", "/v1/file_links", testKey, url.Values{"starting_after": {"link_a"}, "ending_before": {"link_b"}}, 400, "invalid_request_error", "parameters_exclusive", "ending_before"},
		{"BadCursor", "GET", "/v1/file_links", testKey, url.Values{"starting_after": {"link_nope"}}, 400, "invalid_request_error", "", "starting_after"},
		{"BadExpired", "GET", "/v1/file_links", testKey, url.Values{"expired": {"maybe"}}, 400, "invalid_request_error", "", "expired"},
		{"BadCreated", "GET", "/v1/file_links", testKey, url.Values{"created[gte]": {"yesterday"}}, 400, "invalid_request_error", "parameter_invalid_integer", "created[gte]"},
		{"UnknownLink", "GET", "/v1/file_links/link_nope", testKey, nil, 404, "invalid_request_error", "resource_missing", "id"},
		{"UnknownLinkUpdate", "POST", "/v1/file_links/link_nope", testKey, url.Values{"metadata[a]": {"b"}}, 404, "invalid_request_error", "resource_missing", "id"},
		{"WeirdLinkID", "GET", "/v1/file_links/a.b*c", testKey, nil, 404, "invalid_request_error", "resource_missing", "id"},
		{"UnknownFile", "GET", "/v1/files/file_nope", testKey, nil, 404, "invalid_request_error", "resource_missing", "id"},
		{"FileOtherMode", "GET", "/v1/files/" + fileID, liveKey, nil, 404, "invalid_request_error", "resource_missing", "id"},
		{"UpdateBadExpiry", "POST", "/v1/file_links/link_nope", testKey, url.Values{"expires_at": {"later"}}, 400, "invalid_request_error", "parameter_invalid_integer", "expires_at"},
		{"UnknownRoute", "GET", "/v1/nothing", testKey, nil, 404, "invalid_request_error", "", ""},
		{"DeleteNotStripe", "DELETE", "/v1/file_links/link_x", testKey, nil, 404, "invalid_request_error", "", ""},
		{"FilesListUnknown", "GET", "/v1/files", testKey, url.Values{"size": {"1"}}, 400, "invalid_request_error", "parameter_unknown", "size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := in.form(tc.method, tc.path, tc.key, tc.vals)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if r.Header.Get("Request-Id") == "" || !strings.HasPrefix(r.Header.Get("Request-Id"), "req_") {
				t.Fatalf("Request-Id = %q", r.Header.Get("Request-Id"))
			}
			e := r.stripeErr(t)
			if e["type"] != tc.typ || e["message"] == "" {
				t.Fatalf("error = %v", e)
			}
			if tc.code != "" && e["code"] != tc.code {
				t.Fatalf("code = %v, want %s (%v)", e["code"], tc.code, e)
			}
			if tc.param != "" && e["param"] != tc.param {
				t.Fatalf("param = %v, want %s (%v)", e["param"], tc.param, e)
			}
		})
	}

	t.Run("Encodings", func(t *testing.T) {
		for name, r := range map[string]response{
			"JSONBody":           in.do("POST", "/v1/file_links", testKey, "application/json", strings.NewReader(`{"file":"`+fileID+`"}`)),
			"BadEscape":          in.do("POST", "/v1/file_links", testKey, "application/x-www-form-urlencoded", strings.NewReader("file=%zz")),
			"Semicolon":          in.do("GET", "/v1/file_links?limit=1;x=2", testKey, "", nil),
			"HugeBody":           in.do("POST", "/v1/file_links", testKey, "application/x-www-form-urlencoded", strings.NewReader("file="+strings.Repeat("a", 300<<10))),
			"HugeQuery":          in.do("GET", "/v1/file_links?file="+strings.Repeat("a", 20<<10), testKey, "", nil),
			"ManyParams":         in.do("POST", "/v1/file_links", testKey, "application/x-www-form-urlencoded", strings.NewReader(manyParams(300))),
			"UploadNotMP":        in.do("POST", "/v1/files", testKey, "application/x-www-form-urlencoded", strings.NewReader("purpose=dispute_evidence")),
			"UploadTooBig":       in.upload(testKey, bytes.Repeat([]byte("x"), 2<<20), map[string]string{"purpose": "dispute_evidence"}),
			"UploadPurpose":      in.upload(testKey, pdf, map[string]string{"purpose": "selfie"}),
			"UploadNoFile":       in.do("POST", "/v1/files", testKey, "multipart/form-data; boundary=XX", strings.NewReader("--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\ndispute_evidence\r\n--XX--\r\n")),
			"UploadBroken":       in.do("POST", "/v1/files", testKey, "multipart/form-data; boundary=XX", strings.NewReader("--XX\r\ngarbage")),
			"UploadLinkBad":      in.upload(testKey, pdf, map[string]string{"purpose": "dispute_evidence", "file_link_data[create]": "true", "file_link_data[expires_at]": "5"}),
			"UploadLinkNoCreate": in.upload(testKey, pdf, map[string]string{"purpose": "dispute_evidence", "file_link_data[metadata][a]": "b"}),
			"BasicAuthWrong":     in.do("GET", "/v1/file_links", "", "", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("sk_test_nope:"))),
		} {
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
				continue
			}
			if e := r.stripeErr(t); e["type"] == "" || e["message"] == "" {
				t.Errorf("%s: error %v", name, e)
			}
		}
	})

	t.Run("NothingWritten", func(t *testing.T) {
		after := in.form(http.MethodGet, "/v1/file_links", testKey, url.Values{"limit": {"100"}})
		files := in.form(http.MethodGet, "/v1/files", testKey, url.Values{"limit": {"100"}})
		if n, m := len(before.json(t)["data"].([]any)), len(after.json(t)["data"].([]any)); n != m {
			t.Fatalf("bad requests changed the number of links from %d to %d", n, m)
		}
		if n := len(files.json(t)["data"].([]any)); n != 1 {
			t.Fatalf("bad uploads left %d files, want the 1 good one", n)
		}
	})

	t.Run("BasicAuth", func(t *testing.T) {
		r := in.do("GET", "/v1/files/"+fileID, "", "", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(testKey+":")))
		if r.Status != 200 {
			t.Fatalf("basic auth: %d %s", r.Status, r.Body)
		}
	})
}

func manyParams(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(url.QueryEscape(string(rune('A'+i%26))) + "=1")
	}
	return b.String()
}

// TestIdempotency checks Stripe's Idempotency-Key semantics.
func TestIdempotency(t *testing.T) {
	in := start(t, "")
	fileID := in.uploadFile(testKey)
	vals := url.Values{"file": {fileID}, "metadata[k]": {"v"}}

	first := in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", "key-1")
	if first.Status != 200 || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.Status, first.Header, first.Body)
	}
	again := in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", "key-1")
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
	}
	other := in.form("POST", "/v1/file_links", testKey, url.Values{"file": {fileID}}, "Idempotency-Key", "key-1")
	if other.Status != 400 || other.stripeErr(t)["type"] != "idempotency_error" {
		t.Fatalf("other params: %d %s", other.Status, other.Body)
	}
	// The same key under another API key is another key.
	live := in.form("POST", "/v1/file_links", liveKey, vals, "Idempotency-Key", "key-1")
	if live.Status != 400 || live.stripeErr(t)["code"] != "resource_missing" {
		t.Fatalf("live key, same idempotency key: %d %s", live.Status, live.Body)
	}
	// A failed request stores nothing: fixing it and retrying with the same
	// key executes.
	bad := in.form("POST", "/v1/file_links", testKey, url.Values{"file": {"file_nope"}}, "Idempotency-Key", "key-2")
	good := in.form("POST", "/v1/file_links", testKey, url.Values{"file": {fileID}}, "Idempotency-Key", "key-2")
	if bad.Status != 400 || good.Status != 200 || good.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after failure: %d then %d %s", bad.Status, good.Status, good.Body)
	}
	long := in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", strings.Repeat("k", 256))
	if long.Status != 400 {
		t.Fatalf("256-character key: %d", long.Status)
	}

	// Concurrent requests with one key: exactly one link is made; the others
	// are replays or 409 idempotency_key_in_use.
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = in.form("POST", "/v1/file_links", testKey, vals, "Idempotency-Key", "key-3")
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range results {
		switch r.Status {
		case 200:
			ids[r.json(t)["id"].(string)] = true
		case 409:
			if r.stripeErr(t)["code"] != "idempotency_key_in_use" {
				t.Fatalf("409 without idempotency_key_in_use: %s", r.Body)
			}
		default:
			t.Fatalf("concurrent: %d %s", r.Status, r.Body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("concurrent requests with one key made %d links", len(ids))
	}
}
