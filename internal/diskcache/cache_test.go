package diskcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func content(n int, seed uint64) ([]byte, string) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func source(b []byte) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// fill fills and waits until the fill has ended.
func fill(t *testing.T, c *Cache, sha string, size int64, src func(context.Context) (io.ReadCloser, error)) {
	t.Helper()
	c.Fill(sha, size, src)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		busy := len(c.filling) > 0
		c.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("fill did not end")
		}
		time.Sleep(time.Millisecond)
	}
}

func readFile(t *testing.T, f *os.File) []byte {
	t.Helper()
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCache_FillAndGet(t *testing.T) {
	c, err := Open(t.TempDir(), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, sha := content(100_000, 1)
	if _, ok := c.Get(sha, int64(len(b))); ok {
		t.Fatal("hit in an empty cache")
	}
	fill(t, c, sha, int64(len(b)), source(b))
	f, ok := c.Get(sha, int64(len(b)))
	if !ok {
		t.Fatal("miss after a fill")
	}
	if got := readFile(t, f); !bytes.Equal(got, b) {
		t.Fatal("cached bytes differ")
	}
	if _, ok := c.Get(sha, int64(len(b))+1); ok {
		t.Fatal("hit with another size")
	}
	// Names that are not a SHA-256 and a size are never files of the cache.
	for _, bad := range []string{"../" + sha[3:], strings.ToUpper(sha), sha[:63], sha + "0", ""} {
		if _, ok := c.Get(bad, int64(len(b))); ok {
			t.Fatalf("hit for %q", bad)
		}
		c.Fill(bad, int64(len(b)), source(b))
	}
	if _, ok := c.Get(sha, -1); ok {
		t.Fatal("hit for a negative size")
	}
	if st := c.Stats(); st.Files != 1 {
		t.Fatalf("bad names were filled: %+v", st)
	}
	if st := c.Stats(); st.Files != 1 || st.Bytes != int64(len(b)) {
		t.Fatalf("Stats() = %+v", st)
	}
}

func TestCache_RefusesWrongContent(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, sha := content(50_000, 2)
	other, _ := content(50_000, 3)
	short := b[:len(b)-1]
	failing := func(context.Context) (io.ReadCloser, error) { return nil, errors.New("store down") }
	for name, src := range map[string]func(context.Context) (io.ReadCloser, error){
		"other bytes": source(other), "short": source(short), "longer": source(append(append([]byte{}, b...), 0)),
		"source error": failing,
	} {
		fill(t, c, sha, int64(len(b)), src)
		if _, ok := c.Get(sha, int64(len(b))); ok {
			t.Fatalf("%s: cached", name)
		}
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 0 {
		t.Fatalf("files left behind: %v", des)
	}
	fill(t, c, sha, int64(len(b)), source(b)) // the right bytes still go in
	if _, ok := c.Get(sha, int64(len(b))); !ok {
		t.Fatal("not cached after a good fill")
	}
}

func TestCache_EvictsLeastRecentlyUsed(t *testing.T) {
	c, err := Open(t.TempDir(), 250_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, shaA := content(100_000, 4)
	b, shaB := content(100_000, 5)
	d, shaD := content(100_000, 6)
	fill(t, c, shaA, 100_000, source(a))
	fill(t, c, shaB, 100_000, source(b))
	f, ok := c.Get(shaA, 100_000) // a is now more recent than b
	if !ok {
		t.Fatal("a missing")
	}
	fill(t, c, shaD, 100_000, source(d))
	if _, ok := c.Get(shaB, 100_000); ok {
		t.Fatal("b, the least recently used, was kept")
	}
	for _, sha := range []string{shaA, shaD} {
		g, ok := c.Get(sha, 100_000)
		if !ok {
			t.Fatalf("%s evicted", sha[:8])
		}
		g.Close()
	}
	// A file open before its eviction stays readable.
	if got := readFile(t, f); !bytes.Equal(got, a) {
		t.Fatal("open file changed")
	}
	if st := c.Stats(); st.Files != 2 || st.Bytes != 200_000 {
		t.Fatalf("Stats() = %+v", st)
	}
	big, shaBig := content(300_000, 7) // larger than the cache: not taken
	fill(t, c, shaBig, int64(len(big)), source(big))
	if _, ok := c.Get(shaBig, int64(len(big))); ok {
		t.Fatal("a file larger than the cache was cached")
	}
}

func TestCache_Reopen(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, sha := content(70_000, 8)
	fill(t, c, sha, int64(len(b)), source(b))
	c.Close()
	_, other := content(10, 9)
	// A fill that a crash interrupted, a truncated file and a stranger.
	for n, data := range map[string][]byte{
		".fill-123":                    b[:10],
		name(other, 70_000):            b[:100],
		"notes.txt":                    []byte("x"),
		name(sha, int64(len(b))) + "x": b,
	} {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err = Open(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, ok := c.Get(sha, int64(len(b)))
	if !ok {
		t.Fatal("cached file not found after reopening")
	}
	if got := readFile(t, f); !bytes.Equal(got, b) {
		t.Fatal("bytes differ after reopening")
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Fatalf("want only the cached file, found %d entries", len(des))
	}
	// Deleted behind the cache's back: a miss, and forgotten.
	if err := os.Remove(filepath.Join(dir, name(sha, int64(len(b))))); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(sha, int64(len(b))); ok {
		t.Fatal("hit for a deleted file")
	}
	if st := c.Stats(); st.Files != 0 || st.Bytes != 0 {
		t.Fatalf("Stats() = %+v", st)
	}
}

func TestCache_CloseStopsFills(t *testing.T) {
	c, err := Open(t.TempDir(), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	c.Fill(hex.EncodeToString(make([]byte, 32)), 10, func(ctx context.Context) (io.ReadCloser, error) {
		close(started)
		<-ctx.Done() // a store that never answers
		return nil, ctx.Err()
	})
	<-started
	c.Close() // returns: the fill's context ended
	c.Fill(hex.EncodeToString(make([]byte, 32)), 10, func(context.Context) (io.ReadCloser, error) {
		t.Error("Fill ran after Close")
		return nil, errors.New("closed")
	})
	c.mu.Lock()
	filling := len(c.filling)
	c.mu.Unlock()
	if filling != 0 {
		t.Fatalf("%d fills started after Close", filling)
	}
}
