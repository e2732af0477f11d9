package filestore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// start is where a read begins: the stream sequence from which to look for
// its first chunk (exactly there when exact), the index of that chunk in
// the object and the object offset at which the chunk begins.
type start struct {
	seq   uint64
	exact bool
	index uint32
	pos   int64
}

// locate finds the chunk that holds offset without fetching the chunks
// before it.
//
// Chunk 0 is the first message on the object's chunk subject. For another
// chunk k of an object written by Put (every chunk but the last full, so
// k = offset/ChunkSize) the sequence comes from the layout Put recorded
// for an interleaved upload, or else one direct get of chunk 0 tells
// whether the chunks fill the n sequences just before the description, as
// they do when no other upload was interleaved; chunk k is then at the
// first chunk's sequence + k. Otherwise scan finds it.
func (s *Store) locate(ctx context.Context, o *object, offset int64) (start, error) {
	if offset == 0 || offset < o.chunk {
		return start{seq: 1}, nil
	}
	if o.chunk > 0 {
		k := offset / o.chunk
		at := start{exact: true, index: uint32(k), pos: k * o.chunk}
		if seq, ok := o.layout.seq(uint32(k)); ok {
			at.seq = seq
			return at, nil
		}
		if seq0, ok, err := s.contiguous(ctx, o); err != nil {
			return start{}, err
		} else if ok {
			at.seq = seq0 + uint64(k)
			return at, nil
		}
	}
	return s.scan(ctx, o, offset)
}

// contiguous fetches chunk 0 and reports whether the object's chunks fill
// the n sequences just before its description (see isContiguous), and
// chunk 0's sequence. When they do it records that in o, so that a read
// of o knows every chunk's sequence.
func (s *Store) contiguous(ctx context.Context, o *object) (uint64, bool, error) {
	if o.seq0 != 0 {
		return o.seq0, true, nil
	}
	first, err := s.getChunk(ctx, o, 1)
	if err != nil {
		return 0, false, fmt.Errorf("chunk 0: %w", err)
	}
	ok := o.isContiguous(first.Sequence)
	if ok {
		o.seq0 = first.Sequence
	}
	return first.Sequence, ok, nil
}

// chunkAttempts bounds the direct gets of one chunk: a replica that is a
// few milliseconds behind may not have a just-written chunk yet.
const chunkAttempts = 3

// getChunk returns the first of the object's chunks at or after stream
// sequence from, with one direct get (any replica may answer). A chunk
// that is missing although the object still exists is ErrCorrupt.
func (s *Store) getChunk(ctx context.Context, o *object, from uint64) (*jetstream.RawStreamMsg, error) {
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.ChunkTimeout)
		msg, err := s.stream.GetMsg(cctx, from, jetstream.WithGetMsgSubject(s.chunkPrefix+o.info.NUID))
		cancel()
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return msg, err
		}
		if now, serr := s.stat(ctx, o.info.Name); errors.Is(serr, ErrNotFound) || (serr == nil && now.info.NUID != o.info.NUID) {
			return nil, ErrNotFound // deleted or replaced while being read
		}
		if attempt == chunkAttempts {
			return nil, fmt.Errorf("%w: no chunk at or after sequence %d", ErrCorrupt, from)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * 25 * time.Millisecond):
		}
	}
}

// msgSizeHeader is set by the server on messages of a headers-only
// consumer to the length of the omitted payload.
const msgSizeHeader = "Nats-Msg-Size"

// scan finds the chunk that holds offset by walking the chunk subject.
func (s *Store) scan(ctx context.Context, o *object, offset int64) (start, error) {
	s.scans.Add(1)
	var at start
	var pos int64
	found := false
	err := s.walk(ctx, o, func(i uint32, seq uint64, n int64) bool {
		if offset < pos+n {
			at, found = start{seq: seq, exact: true, index: i, pos: pos}, true
			return false
		}
		pos += n
		return true
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: %d chunks hold %d bytes, object has %d", ErrCorrupt, o.info.Chunks, pos, o.size())
	}
	return at, err
}

// walk calls fn with the index, stream sequence and length of each of the
// object's chunks in order, until fn returns false. It reads the chunk
// subject with a headers-only ordered consumer, so it moves one small
// message per chunk and no content; but the server still loads the
// chunks from its store and creating the consumer costs more than a
// direct get, so reads only walk when they cannot compute.
func (s *Store) walk(ctx context.Context, o *object, fn func(i uint32, seq uint64, n int64) bool) error {
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.chunkPrefix + o.info.NUID},
		HeadersOnly:    true,
		// The server drops the consumer this long after a crash mid-walk.
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("walk chunks: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("walk chunks: %w", err)
	}
	defer s.release(cons, it)
	for i := uint32(0); i < o.info.Chunks; i++ {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.ChunkTimeout)
		msg, err := it.Next(jetstream.NextContext(cctx))
		cancel()
		if err != nil {
			return fmt.Errorf("walk chunk %d: %w", i, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("walk chunk %d: %w", i, err)
		}
		// The server reports how many messages on the subject follow this
		// one, which is the chunk's place in the object.
		n, err := strconv.ParseInt(msg.Headers().Get(msgSizeHeader), 10, 64)
		if left := uint64(o.info.Chunks - 1 - i); err != nil || n <= 0 || md.NumPending != left {
			return fmt.Errorf("%w: walk found chunk %d of %d bytes with %d after it, want %d", ErrCorrupt, i, n, md.NumPending, left)
		}
		if !fn(i, md.Sequence.Stream, n) {
			return nil
		}
	}
	return nil
}

// release stops a walk's iterator and deletes its consumer now rather
// than leaving it to the idle timer. The delete is best effort and not
// bound to the caller's context, which may be the one that just ended.
func (s *Store) release(cons jetstream.Consumer, it jetstream.MessagesContext) {
	it.Stop()
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.stream.DeleteConsumer(ctx, info.Name)
}
