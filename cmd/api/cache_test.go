package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestPublicLink_DiskCache: the first download of a file fills this
// replica's disk cache (checked against the file's SHA-256), later ones are
// served from it, with the same headers, ranges and validators.
func TestPublicLink_DiskCache(t *testing.T) {
	dir := t.TempDir()
	in := startWith(t, dir, map[string]string{"FILELINKS_MAX_UPLOAD_BYTES": "8388608"})
	content := make([]byte, 2<<20+777)
	rand.Read(content)
	link, _ := in.shareFile(content, "data.bin", nil)
	sum := sha256.Sum256(content)
	cached := filepath.Join(dir, "cache", hex.EncodeToString(sum[:])+"-"+strconv.Itoa(len(content)))

	first := get(t, "GET", link)
	if first.Status != 200 || !bytes.Equal(first.Body, content) {
		t.Fatalf("first download: %d, %d bytes", first.Status, len(first.Body))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(cached); err == nil && bytes.Equal(b, content) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the download did not fill the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}

	second := get(t, "GET", link)
	if second.Status != 200 || !bytes.Equal(second.Body, content) {
		t.Fatalf("cached download: %d, %d bytes", second.Status, len(second.Body))
	}
	for _, k := range []string{"Content-Type", "Content-Disposition", "ETag", "Cache-Control", "Content-Security-Policy",
		"X-Content-Type-Options", "Last-Modified", "Content-Length"} {
		if first.Header.Get(k) != second.Header.Get(k) {
			t.Errorf("%s: %q from the store, %q from the cache", k, first.Header.Get(k), second.Header.Get(k))
		}
	}
	r := get(t, "GET", link, "Range", "bytes=1000-1999")
	if r.Status != 206 || !bytes.Equal(r.Body, content[1000:2000]) {
		t.Fatalf("range from the cache: %d, %d bytes", r.Status, len(r.Body))
	}
	if r := get(t, "GET", link, "If-None-Match", first.Header.Get("ETag")); r.Status != 304 {
		t.Fatalf("If-None-Match from the cache: %d", r.Status)
	}

	// Proof that the bytes now come from the cache file: change them behind
	// its back (same size), and the link serves the change. (A real cache
	// file is only ever written whole and checked.)
	tampered := bytes.Clone(content)
	tampered[0] ^= 0xff
	if err := os.WriteFile(cached, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := get(t, "GET", link); !bytes.Equal(r.Body, tampered) {
		t.Fatal("the download did not come from the cache file")
	}
	// Deleted behind its back: served from the store again.
	if err := os.Remove(cached); err != nil {
		t.Fatal(err)
	}
	if r := get(t, "GET", link); r.Status != 200 || !bytes.Equal(r.Body, content) {
		t.Fatalf("after the cache file was deleted: %d", r.Status)
	}
}

// TestPublicLink_DiskCacheOff: with FILELINKS_CACHE_BYTES=0 nothing is
// cached.
func TestPublicLink_DiskCacheOff(t *testing.T) {
	dir := t.TempDir()
	in := startWith(t, dir, map[string]string{"FILELINKS_MAX_UPLOAD_BYTES": "8388608", "FILELINKS_CACHE_BYTES": "0"})
	content := make([]byte, 1<<20)
	rand.Read(content)
	link, _ := in.shareFile(content, "data.bin", nil)
	for range 2 {
		if r := get(t, "GET", link); r.Status != 200 || !bytes.Equal(r.Body, content) {
			t.Fatalf("download: %d", r.Status)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cache")); !os.IsNotExist(err) {
		t.Fatalf("cache directory with the cache off: %v", err)
	}
}

// TestExpirerOff: with FILELINKS_EXPIRER=false the API runs without an
// in-process expirer (one runs elsewhere): no schedule file, and expiry is
// still enforced on every read, as it is between a deadline and its event.
func TestExpirerOff(t *testing.T) {
	var clk clock
	t0 := time.Now().Truncate(time.Second).Add(time.Second)
	clk.set(t0)
	dir := t.TempDir()
	in := startWith(t, dir, map[string]string{"FILELINKS_EXPIRER": "false"}, WithClock(clk.now))
	deadline := t0.Add(5 * time.Second)
	link, id := in.shareFile(pdf, "a.pdf", url.Values{"expires_at": {strconv.FormatInt(deadline.Unix(), 10)}})
	if r := get(t, "GET", link); r.Status != 200 {
		t.Fatalf("before the deadline: %d", r.Status)
	}
	clk.set(deadline)
	if r := get(t, "GET", link); r.Status != 410 {
		t.Fatalf("at the deadline: %d", r.Status)
	}
	if r := in.do("GET", "/v1/file_links/"+id, testKey, "", nil); r.Status != 200 || r.json(t)["expired"] != true {
		t.Fatalf("retrieve after the deadline: %d %s", r.Status, r.Body)
	}
	if _, err := os.Stat(filepath.Join(dir, "expirer.db")); !os.IsNotExist(err) {
		t.Fatalf("expirer.db with the expirer off: %v", err)
	}
}
