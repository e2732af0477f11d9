package filestore

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// Object is an open object: its description and a reader of its content.
// The reader checks the recorded SHA-256 when it reaches the end and then
// returns ErrCorrupt instead of io.EOF if the content differs. It is not
// safe for concurrent use.
type Object struct {
	// Size is the length of the content in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 digest recorded at upload.
	SHA256 string
	r      *chunkReader
}

// Read reads the next bytes of the content.
func (o *Object) Read(p []byte) (int, error) { return o.r.Read(p) }

// Close ends the read; Read then fails. It cancels the chunks requested
// ahead and returns once none is still being fetched; it never fails.
// Nothing is held on the server either way.
func (o *Object) Close() error { return o.r.Close() }

var _ io.ReadCloser = (*Object)(nil)

// Get opens the object name for reading from the start. It returns
// ErrNotFound when there is none. ctx governs the whole read, not just the
// call: every chunk is fetched with it, and when it ends the chunks
// requested ahead are dropped (Close still must be called).
func (s *Store) Get(ctx context.Context, name string) (*Object, error) {
	o, err := s.stat(ctx, name)
	if err != nil {
		return nil, err
	}
	want, err := jetstream.DecodeObjectDigest(o.info.Digest)
	if err != nil || len(want) == 0 {
		return nil, fmt.Errorf("filestore: get %s: %w: digest %q", name, ErrCorrupt, o.info.Digest)
	}
	r, err := s.open(ctx, o, 0, o.size(), want)
	if err != nil {
		return nil, fmt.Errorf("filestore: get %s: %w", name, err)
	}
	return &Object{Size: o.size(), SHA256: hex.EncodeToString(want), r: r}, nil
}

// GetRange opens length bytes of the object name from offset. It returns
// ErrNotFound when there is none and ErrInvalidRange unless 0 <= offset,
// 0 <= length and offset+length <= size. ctx governs the whole read.
//
// It never fetches the chunks before the one that holds offset. Finding
// that chunk costs, besides the description: nothing for a range in
// chunk 0 or for an interleaved upload whose layout Put recorded, one
// direct get of chunk 0 for an upload that was not interleaved (which
// proves the chunks are contiguous), and a headers-only walk of the chunks
// before it otherwise. Only a range that covers the whole object can be
// checked against the recorded SHA-256.
func (s *Store) GetRange(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	o, err := s.stat(ctx, name)
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 || offset > o.size() || length > o.size()-offset {
		return nil, fmt.Errorf("filestore: get %s bytes %d+%d of %d: %w", name, offset, length, o.size(), ErrInvalidRange)
	}
	var want []byte
	if offset == 0 && length == o.size() {
		if want, err = jetstream.DecodeObjectDigest(o.info.Digest); err != nil {
			return nil, fmt.Errorf("filestore: get %s: %w: digest %q", name, ErrCorrupt, o.info.Digest)
		}
	}
	r, err := s.open(ctx, o, offset, length, want)
	if err != nil {
		return nil, fmt.Errorf("filestore: get %s bytes %d+%d: %w", name, offset, length, err)
	}
	return r, nil
}
