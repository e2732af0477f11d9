package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"
)

// Content describes content as Put stored it.
type Content struct {
	// Size is the length in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 digest.
	SHA256 string
	// ContentType is net/http.DetectContentType of the first 512 bytes.
	ContentType string
}

// metaChunking marks, in an object's metadata, that Put wrote it with
// every chunk but the last exactly ChunkSize long, which range reads rely
// on to compute a chunk index.
const (
	metaChunking  = "filelinks-chunking"
	chunkingFixed = "fixed"
)

// sniffLen is how many leading bytes net/http.DetectContentType looks at.
const sniffLen = 512

// Put streams r into the object name, replacing any object of that name,
// and returns its size, digest and sniffed content type. A negative
// maxBytes means no limit but the server's; otherwise content longer than
// maxBytes stops the upload with ErrTooLarge.
//
// Put reads r one chunk at a time and never holds more than that. When it
// fails, for any reason, the object store has already purged the chunks it
// wrote and no description of the new object exists: a reader sees either
// the previous object of that name or none. ctx cancels the upload between
// chunks; once r is drained the final publishes are bounded by the
// client's default timeout, not by ctx, so a cancelled request cannot
// leave chunks without the purge that follows a failure.
//
// When other uploads were interleaved with this one, Put then records
// where its chunks are (see recordLayout), so that range reads of the
// object need no scan; that costs a headers-only walk of its chunks.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, maxBytes int64) (Content, error) {
	if name == "" {
		return Content{}, errors.New("filestore: put: empty object name")
	}
	m := &meter{ctx: ctx, r: r, limit: maxBytes, chunk: s.cfg.ChunkSize, sum: sha256.New()}
	meta := jetstream.ObjectMeta{
		Name:     name,
		Metadata: map[string]string{metaChunking: chunkingFixed},
		Opts:     &jetstream.ObjectMetaOptions{ChunkSize: uint32(s.cfg.ChunkSize)},
	}
	// The object store purges partial chunks on a read or publish error,
	// but after the last chunk it gives up on ctx.Done without purging;
	// a context that cannot end avoids that path (each publish still has
	// the client's default timeout).
	info, err := s.obs.Put(context.WithoutCancel(ctx), meta, m)
	if err != nil {
		return Content{}, fmt.Errorf("filestore: put %s: %w", name, err)
	}
	if m.irregular || int64(info.Size) != m.n || info.Chunks != chunkCount(m.n, int64(s.cfg.ChunkSize)) {
		// The object store no longer asks for one full chunk per read, so
		// the fixed chunking that range reads rely on does not hold. Fail
		// loudly (a test catches this on a nats.go upgrade) and keep nothing.
		derr := s.obs.Delete(context.WithoutCancel(ctx), name)
		return Content{}, errors.Join(fmt.Errorf("filestore: put %s: object store chunked %d bytes into %d chunks of up to %d bytes, not as expected",
			name, info.Size, info.Chunks, s.cfg.ChunkSize), derr)
	}
	s.recordLayout(context.WithoutCancel(ctx), name)
	return Content{
		Size:        m.n,
		SHA256:      hex.EncodeToString(m.sum.Sum(nil)),
		ContentType: http.DetectContentType(m.head[:m.nhead]),
	}, nil
}

// chunkCount is the number of chunks of size bytes cut chunk bytes long.
func chunkCount(size, chunk int64) uint32 {
	return uint32((size + chunk - 1) / chunk)
}

// meter is the reader the object store consumes. It fills each read
// completely (io.ReadFull), so that each chunk but the last is full, and
// counts, hashes and keeps the first sniffLen bytes on the way.
type meter struct {
	ctx   context.Context
	r     io.Reader
	limit int64
	chunk int
	sum   hash.Hash
	n     int64
	head  [sniffLen]byte
	nhead int
	// irregular is set when the object store asks for a read of another
	// length than a chunk, so chunks may not all be full.
	irregular bool
	done      bool
}

func (m *meter) Read(p []byte) (int, error) {
	if m.done {
		return 0, io.EOF
	}
	if err := m.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) != m.chunk {
		m.irregular = true
	}
	want := p
	// Ask for one byte more than the limit allows so that content of
	// exactly the limit ends cleanly and anything longer is noticed.
	if m.limit >= 0 && int64(len(want)) > m.limit-m.n+1 {
		want = want[:m.limit-m.n+1]
	}
	n, err := io.ReadFull(m.r, want)
	m.n += int64(n)
	if m.limit >= 0 && m.n > m.limit {
		return 0, ErrTooLarge
	}
	m.sum.Write(p[:n])
	if m.nhead < sniffLen {
		m.nhead += copy(m.head[m.nhead:], p[:n])
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		m.done = true
		return n, io.EOF
	case err != nil:
		return 0, err
	}
	return n, nil
}
