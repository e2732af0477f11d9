// Package diskcache keeps copies of stored files on the local disk of one
// replica, named by their SHA-256, so that public downloads of popular files
// are served from a local file, which the kernel sends to the socket without
// copying it through the process (sendfile), instead of streaming every byte
// from JetStream.
//
// The cache is derived data: a file is added only after its bytes were read
// from the content store and their SHA-256 and size matched what the read
// model says of the file, it is written to a temporary name, synced and
// renamed, and the directory may be deleted at any time. Files are
// immutable, and two files with the same SHA-256 have the same bytes, so an
// entry never needs invalidating. The total size is bounded; the least
// recently used entries are removed to make room (a download still reading
// a removed entry keeps its open file).
package diskcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cache is a bounded, content-addressed cache of files in one directory.
// It is safe for concurrent use.
type Cache struct {
	dir    string
	max    int64
	logger *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry // by name (see name)
	total   int64
	filling map[string]bool
	tick    uint64 // a logical clock for recency
	fills   chan struct{}
	wg      sync.WaitGroup
	closed  bool
	ctx     context.Context // ends on Close, and with it the copies
	cancel  context.CancelFunc
}

type entry struct {
	size    int64
	lastUse uint64
}

// fillTimeout bounds one copy into the cache.
const fillTimeout = 10 * time.Minute

// maxFills is how many copies into the cache run at once; more requests
// to fill are dropped (the next download asks again).
const maxFills = 2

// Open opens the cache in dir, creating it, with room for max bytes. It
// deletes temporary files left by a crash and takes in the complete files
// it finds, trimming them to max.
func Open(dir string, max int64, logger *slog.Logger) (*Cache, error) {
	if max <= 0 {
		return nil, errors.New("diskcache: max must be positive")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("diskcache: %w", err)
	}
	c := &Cache{dir: dir, max: max, logger: logger, entries: map[string]*entry{}, filling: map[string]bool{},
		fills: make(chan struct{}, maxFills)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("diskcache: %w", err)
	}
	for _, de := range des {
		n := de.Name()
		info, err := de.Info()
		if err != nil {
			continue
		}
		_, size, ok := parseName(n)
		if !ok || !info.Mode().IsRegular() || info.Size() != size {
			// A temporary file of a fill that did not end, or a stranger.
			_ = os.Remove(filepath.Join(dir, n))
			continue
		}
		c.tick++
		c.entries[n] = &entry{size: size, lastUse: c.tick}
		c.total += size
	}
	c.mu.Lock()
	c.evictLocked(0)
	c.mu.Unlock()
	return c, nil
}

// name is the file name of the content with this SHA-256 (hex) and size.
func name(sha string, size int64) string {
	return sha + "-" + strconv.FormatInt(size, 10)
}

// checkedName is name for a lower-case hex SHA-256 and a size that is not
// negative, and false for anything else, which could not name a file of
// the cache.
func checkedName(sha string, size int64) (string, bool) {
	n := name(sha, size)
	if s, sz, ok := parseName(n); !ok || s != strings.ToLower(s) || sz != size {
		return "", false
	}
	return n, true
}

// parseName reads a name made by name.
func parseName(n string) (sha string, size int64, ok bool) {
	sha, sz, found := strings.Cut(n, "-")
	if !found || len(sha) != 64 {
		return "", 0, false
	}
	if _, err := hex.DecodeString(sha); err != nil {
		return "", 0, false
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sz {
		return "", 0, false
	}
	return sha, size, true
}

// Get opens the cached copy of the content with this SHA-256 (lower-case
// hex) and size, or reports false when there is none.
func (c *Cache) Get(sha string, size int64) (*os.File, bool) {
	n, ok := checkedName(sha, size)
	if !ok {
		return nil, false
	}
	c.mu.Lock()
	e := c.entries[n]
	if e != nil {
		c.tick++
		e.lastUse = c.tick
	}
	c.mu.Unlock()
	if e == nil {
		return nil, false
	}
	f, err := os.Open(filepath.Join(c.dir, n))
	if errors.Is(err, os.ErrNotExist) {
		// Deleted behind the cache's back: forget it.
		c.mu.Lock()
		if c.entries[n] == e {
			delete(c.entries, n)
			c.total -= e.size
		}
		c.mu.Unlock()
	}
	if err != nil {
		return nil, false // the caller reads from the store instead
	}
	return f, true
}

// Fill copies the content with this SHA-256 and size from src into the
// cache, in the background, unless it is cached or being copied already,
// does not fit, or maxFills copies are running. It returns at once.
func (c *Cache) Fill(sha string, size int64, src func(context.Context) (io.ReadCloser, error)) {
	n, ok := checkedName(sha, size)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.entries[n] != nil || c.filling[n] || size > c.max {
		return
	}
	select {
	case c.fills <- struct{}{}:
	default:
		return
	}
	c.filling[n] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.fills }()
		err := c.fill(n, sha, size, src)
		c.mu.Lock()
		delete(c.filling, n)
		if err == nil && !c.closed {
			c.evictLocked(size)
			c.tick++
			c.entries[n] = &entry{size: size, lastUse: c.tick}
			c.total += size
		} else {
			_ = os.Remove(filepath.Join(c.dir, n))
		}
		c.mu.Unlock()
		if err != nil {
			c.logger.Warn("diskcache: fill failed", "sha256", sha, "size", size, "err", err)
		}
	}()
}

// fill copies src into the file n, checking its SHA-256 and size.
func (c *Cache) fill(n, sha string, size int64, src func(context.Context) (io.ReadCloser, error)) (err error) {
	ctx, cancel := context.WithTimeout(c.ctx, fillTimeout)
	defer cancel()
	r, err := src(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	tmp, err := os.CreateTemp(c.dir, ".fill-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	copied, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, size+1))
	switch {
	case err != nil:
		return err
	case copied != size:
		return fmt.Errorf("read %d bytes, want %d", copied, size)
	case hex.EncodeToString(h.Sum(nil)) != sha:
		return errors.New("content does not match its SHA-256")
	}
	// Synced before the rename: after a crash, a file under its final
	// name is complete.
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(c.dir, n))
}

// evictLocked removes least recently used entries until need more bytes
// fit. It looks for the oldest entry by a scan, which is fine for the
// thousands of large files such a cache holds.
func (c *Cache) evictLocked(need int64) {
	for c.total+need > c.max && len(c.entries) > 0 {
		var oldest string
		var at uint64
		for n, e := range c.entries {
			if oldest == "" || e.lastUse < at {
				oldest, at = n, e.lastUse
			}
		}
		e := c.entries[oldest]
		delete(c.entries, oldest)
		c.total -= e.size
		if err := os.Remove(filepath.Join(c.dir, oldest)); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.logger.Warn("diskcache: evict", "file", oldest, "err", err)
		}
	}
}

// Stats says what the cache holds.
type Stats struct {
	Files int
	Bytes int64
}

// Stats returns what the cache holds.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Files: len(c.entries), Bytes: c.total}
}

// Close stops the copies in progress and waits for them to end; Fill does
// nothing after it.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}
