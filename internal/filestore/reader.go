package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// errClosed is returned by Read after Close.
var errClosed = errors.New("filestore: read after close")

// chunkReader streams a byte range of an object chunk by chunk, each
// fetched with a direct get of the object's chunk subject. When it knows
// every chunk's sequence it keeps the next chunks requested ahead of its
// caller (readAhead); otherwise it fetches the next chunk when Read needs
// it. Either way it holds a bounded number of chunks, and it checks each
// chunk's place, sequence (when known) and length. It is not safe for
// concurrent use.
type chunkReader struct {
	ctx context.Context
	s   *Store
	o   *object

	seq   uint64 // stream sequence from which to look for the next chunk
	exact uint64 // when set, the sequence the next chunk must be at
	next  uint32 // index of the next chunk
	until uint32 // one past the last chunk of the range; 0 when unknown
	pos   int64  // object offset at which the next chunk starts
	skip  int64  // bytes to drop from the front of the next chunk
	left  int64  // bytes still to hand out
	buf   []byte // the unread part of the current chunk
	ra    *readAhead

	want []byte    // SHA-256 to check at the end of a whole read
	sum  hash.Hash // running SHA-256 when want is set
	err  error     // sticky: io.EOF, a failure, or errClosed
}

// open returns a reader of length bytes from offset, with the first chunk
// already fetched so that a missing or misplaced chunk is reported before
// any byte. want, when set, is the SHA-256 to check at the end (a whole
// read).
func (s *Store) open(ctx context.Context, o *object, offset, length int64, want []byte) (*chunkReader, error) {
	r := &chunkReader{ctx: ctx, s: s, o: o, left: length, want: want}
	if want != nil {
		r.sum = sha256.New()
	}
	if length == 0 {
		return r, nil
	}
	at, err := s.locate(ctx, o, offset)
	if err != nil {
		return nil, err
	}
	r.seq, r.next, r.pos, r.skip = at.seq, at.index, at.pos, offset-at.pos
	if at.exact {
		r.exact = at.seq
	}
	if o.chunk > 0 {
		r.until = uint32((offset+length-1)/o.chunk) + 1
	}
	if err := r.fill(); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// fill takes the next chunk, checks it and makes its part of the range the
// current buffer; then it starts reading ahead if it can and has not yet.
func (r *chunkReader) fill() error {
	size := r.o.size()
	if r.next >= r.o.info.Chunks {
		return fmt.Errorf("%w: %d chunks end at offset %d of %d", ErrCorrupt, r.o.info.Chunks, r.pos, size)
	}
	// The sequence the chunk must be at: known for every chunk when the
	// layout is, else only for the first chunk of a scanned range.
	want := r.exact
	if seq, ok := r.o.chunkSeq(r.next); ok {
		want = seq
	}
	var msg *jetstream.RawStreamMsg
	var err error
	if r.ra != nil {
		msg, err = r.ra.take(r.next)
		if errors.Is(err, errClosed) && r.ctx.Err() != nil {
			err = r.ctx.Err()
		}
	} else {
		from := r.seq
		if want != 0 {
			from = want
		}
		msg, err = r.s.getChunk(r.ctx, r.o, from)
	}
	if err != nil {
		return fmt.Errorf("chunk %d: %w", r.next, err)
	}
	if want != 0 && msg.Sequence != want {
		return fmt.Errorf("%w: chunk %d at sequence %d, computed %d", ErrCorrupt, r.next, msg.Sequence, want)
	}
	if r.next == 0 && r.o.seq0 == 0 && r.o.layout == nil && r.o.isContiguous(msg.Sequence) {
		// A read from the start learns here, for free, that every chunk's
		// sequence follows from the first one's.
		r.o.seq0 = msg.Sequence
	}
	n := int64(len(msg.Data))
	last := r.next == r.o.info.Chunks-1
	if n == 0 || n <= r.skip || r.pos+n > size || (last && r.pos+n != size) || (!last && r.o.chunk > 0 && n != r.o.chunk) {
		return fmt.Errorf("%w: chunk %d of %d bytes at offset %d of %d", ErrCorrupt, r.next, n, r.pos, size)
	}
	if r.sum != nil {
		r.sum.Write(msg.Data)
	}
	r.seq, r.exact = msg.Sequence+1, 0
	r.next++
	r.pos += n
	data := msg.Data[r.skip:]
	r.skip = 0
	if int64(len(data)) > r.left {
		data = data[:r.left]
	}
	r.buf = data
	if r.ra != nil && r.next >= r.until {
		// Nothing left to fetch: give up the share of the budget now.
		r.stop()
	} else {
		r.startReadAhead()
	}
	return nil
}

// startReadAhead starts reading ahead when more than the current chunk is
// left and every chunk's sequence and length are known.
func (r *chunkReader) startReadAhead() {
	if r.ra != nil || r.s.cfg.ReadAhead <= 0 || r.o.chunk == 0 || r.next >= r.until {
		return
	}
	if _, ok := r.o.chunkSeq(r.next); !ok {
		return
	}
	r.ra = r.s.newReadAhead(r.ctx, r.o, r.next, r.until)
}

// stop ends the read-ahead, if any, and waits for its fetches. It may be
// called again.
func (r *chunkReader) stop() {
	if r.ra != nil {
		r.ra.close()
	}
}

// Read hands out the next bytes of the range. At the end of a whole read
// it returns ErrCorrupt instead of io.EOF when the SHA-256 differs from
// the recorded one.
func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case r.err != nil:
			return 0, r.err
		case r.left == 0:
			r.stop()
			r.err = r.end()
		default:
			if err := r.fill(); err != nil {
				r.stop()
				r.err = fmt.Errorf("filestore: read %s: %w", r.o.info.Name, err)
			}
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.left -= int64(n)
	return n, nil
}

// end checks the digest of a whole read.
func (r *chunkReader) end() error {
	if r.want == nil {
		return io.EOF
	}
	if got := r.sum.Sum(nil); !bytes.Equal(got, r.want) {
		return fmt.Errorf("filestore: read %s: %w: SHA-256 %x, recorded %x", r.o.info.Name, ErrCorrupt, got, r.want)
	}
	return io.EOF
}

// Close ends the read; later Reads fail. It cancels the chunks requested
// ahead and returns once no fetch is left running.
func (r *chunkReader) Close() error {
	r.stop()
	r.buf, r.err = nil, errClosed
	return nil
}
