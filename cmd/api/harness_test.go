package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/filelinks/filelinks/internal/config"
)

const (
	testKey = "sk_test_filelinks_e2e_0001"
	liveKey = "sk_live_filelinks_e2e_0001"
)

// instance is a running service with its data directory.
type instance struct {
	t    testing.TB
	svc  *AllInOne
	dir  string
	base string
}

// start runs the whole service on loopback ports with its data in dir
// (a fresh temp dir when empty), as `go run ./cmd/api` would.
func start(t *testing.T, dir string) *instance {
	t.Helper()
	return startWith(t, dir, nil)
}

// startWith is start with extra environment variables and options.
func startWith(t *testing.T, dir string, extra map[string]string, opts ...Option) *instance {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	env := map[string]string{
		"FILELINKS_HTTP_ADDR":        "127.0.0.1:0",
		"FILELINKS_DATA_DIR":         dir,
		"FILELINKS_NATS_LISTEN":      "127.0.0.1:-1",
		"FILELINKS_API_KEYS":         testKey + "," + liveKey,
		"FILELINKS_PUBLIC_URL":       "http://files.example.test",
		"FILELINKS_MAX_UPLOAD_BYTES": "1048576",
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := StartAllInOne(context.Background(), cfg, logger, io.Discard, opts...)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, svc: svc, dir: dir, base: "http://" + svc.Addr()}
	t.Cleanup(in.stop)
	in.waitReady()
	return in
}

func (in *instance) stop() {
	if in.svc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Connections the client dialled for concurrent requests and never
	// used: the server counts them as active for 5 s (net/http treats a
	// new connection as idle only then), which would slow the shutdown.
	http.DefaultClient.CloseIdleConnections()
	if err := in.svc.Shutdown(ctx); err != nil {
		in.t.Errorf("shutdown: %v", err)
	}
	in.svc = nil
}

func (in *instance) waitReady() {
	in.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(in.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.t.Fatal("service not ready")
}

// client returns the official Stripe SDK pointed at the service.
func (in *instance) client(key string) *stripe.Client {
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(in.base),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripe.NewClient(key, stripe.WithBackends(backends))
}

// response is a raw HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.Body)
	}
	return m
}

// stripeErr returns the error object of a Stripe error response.
func (r response) stripeErr(t *testing.T) map[string]any {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.Body)
	}
	return e
}

// do sends a raw request with the key as Bearer (none when key is "").
func (in *instance) do(method, path, key, contentType string, body io.Reader, header ...string) response {
	in.t.Helper()
	req, err := http.NewRequest(method, in.base+path, body)
	if err != nil {
		in.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// form sends form-encoded parameters.
func (in *instance) form(method, path, key string, vals url.Values, header ...string) response {
	in.t.Helper()
	if method == http.MethodGet {
		return in.do(method, path+"?"+vals.Encode(), key, "", nil, header...)
	}
	return in.do(method, path, key, "application/x-www-form-urlencoded", strings.NewReader(vals.Encode()), header...)
}

// upload sends a multipart upload of content with the given fields.
func (in *instance) upload(key string, content []byte, fields map[string]string, header ...string) response {
	in.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if k == "_filename" {
			continue
		}
		if err := w.WriteField(k, v); err != nil {
			in.t.Fatal(err)
		}
	}
	name := fields["_filename"]
	if name == "" {
		name = "report.pdf"
	}
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		in.t.Fatal(err)
	}
	fw.Write(content)
	w.Close()
	return in.do(http.MethodPost, "/v1/files", key, w.FormDataContentType(), &buf, header...)
}

// pdf is a small file whose content sniffs as a PDF.
var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// uploadFile uploads pdf with purpose dispute_evidence and returns its id.
func (in *instance) uploadFile(key string) string {
	in.t.Helper()
	r := in.upload(key, pdf, map[string]string{"purpose": "dispute_evidence"})
	if r.Status != http.StatusOK {
		in.t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	return r.json(in.t)["id"].(string)
}
