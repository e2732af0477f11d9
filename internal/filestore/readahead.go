package filestore

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// readAhead keeps the direct gets of the next chunks of a read in flight
// while its caller consumes the current one, so that a read costs about
// one round trip per ReadAhead bytes instead of one per chunk. It only
// runs when every chunk's sequence is known (Put's recorded layout, or
// chunks seen to be contiguous), so each reply is checked against the
// sequence it must have; chunks are handed out strictly in order.
//
// It holds at most ReadAhead bytes of chunks that the reader has not
// taken, and no more than an equal share of ReadAheadTotal among the
// readers reading ahead at the time; the store's budget enforces that
// total. When its share or the budget does not cover another chunk it
// fetches the chunk the reader waits for and nothing more, as a reader
// without read-ahead does (see topUp). stop cancels every fetch and
// returns the budget; it runs on Close and when the read's context ends,
// whichever comes first.
type readAhead struct {
	s      *Store
	o      *object
	ctx    context.Context // the read's context; stop cancels it
	cancel context.CancelFunc
	unhook func() bool // removes the stop registered on the caller's context

	next uint32 // index of the next chunk to request
	end  uint32 // one past the last chunk of the range

	wg sync.WaitGroup // one per fetch goroutine

	mu      sync.Mutex // guards what stop touches
	queue   []*fetch   // requested chunks, in order, not yet taken
	queued  int64      // bytes of queue
	stopped bool
}

// fetch is one chunk requested ahead; done is closed when msg or err is
// set.
type fetch struct {
	index uint32
	seq   uint64
	size  int64 // the chunk's length, from the object's fixed chunking
	held  int64 // bytes of the store's budget it holds
	done  chan struct{}
	msg   *jetstream.RawStreamMsg
	err   error
}

// newReadAhead starts fetching chunks next..end-1 of o. The caller has
// checked that o has a fixed chunk size and that all their sequences are
// known.
func (s *Store) newReadAhead(ctx context.Context, o *object, next, end uint32) *readAhead {
	ra := &readAhead{s: s, o: o, next: next, end: end}
	s.aheads.Add(1)
	s.readers.Add(1)
	ra.ctx, ra.cancel = context.WithCancel(ctx)
	ra.unhook = context.AfterFunc(ctx, ra.stop)
	ra.topUp(false)
	return ra
}

// chunkLen is the length of chunk k of an object with fixed chunking.
func (o *object) chunkLen(k uint32) int64 {
	if k == o.info.Chunks-1 {
		return o.size() - int64(k)*o.chunk
	}
	return o.chunk
}

// topUp requests chunks while they fit in the reader's share and in the
// store's budget, until the range is covered. When need is set the reader
// is waiting for the next chunk: if nothing is requested it requests that
// one regardless, so a reader never waits for another, and a reader
// without share or budget reads one chunk at a time, holding no more than
// a reader without read-ahead.
func (ra *readAhead) topUp(need bool) {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	limit := min(int64(ra.s.cfg.ReadAhead), int64(ra.s.cfg.ReadAheadTotal)/max(ra.s.readers.Load(), 1))
	for !ra.stopped && ra.next < ra.end {
		n := ra.o.chunkLen(ra.next)
		must := need && len(ra.queue) == 0
		var held int64
		switch {
		case ra.queued+n <= limit && ra.s.takeBudget(n):
			held = n
		case !must:
			return
		}
		seq, _ := ra.o.chunkSeq(ra.next)
		f := &fetch{index: ra.next, seq: seq, size: n, held: held, done: make(chan struct{})}
		ra.queue = append(ra.queue, f)
		ra.queued += n
		ra.next++
		ra.wg.Add(1)
		go ra.get(f)
	}
}

func (ra *readAhead) get(f *fetch) {
	defer ra.wg.Done()
	f.msg, f.err = ra.s.getChunk(ra.ctx, ra.o, f.seq)
	close(f.done)
}

// take waits for chunk k, which must be the next one requested, and
// requests more. The caller checks the chunk's sequence and length.
func (ra *readAhead) take(k uint32) (*jetstream.RawStreamMsg, error) {
	ra.topUp(true)
	ra.mu.Lock()
	if ra.stopped || len(ra.queue) == 0 || ra.queue[0].index != k {
		ra.mu.Unlock()
		return nil, errClosed
	}
	f := ra.queue[0]
	ra.mu.Unlock()
	// A fetch ends by itself: each direct get is bounded by ChunkTimeout
	// and by ctx, which stop cancels.
	<-f.done
	ra.mu.Lock()
	if ra.stopped {
		ra.mu.Unlock()
		return nil, errClosed
	}
	ra.queue[0] = nil
	ra.queue = ra.queue[1:]
	ra.queued -= f.size
	ra.s.giveBudget(f.held)
	ra.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	ra.topUp(false)
	return f.msg, nil
}

// stop cancels the fetches in flight, drops the chunks not taken and
// returns their budget. It may run concurrently with take.
func (ra *readAhead) stop() {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.stopped {
		return
	}
	ra.stopped = true
	ra.s.readers.Add(-1)
	ra.cancel()
	for _, f := range ra.queue {
		ra.s.giveBudget(f.held)
	}
	ra.queue, ra.queued = nil, 0
}

// close stops the read-ahead and waits until no fetch goroutine is left.
func (ra *readAhead) close() {
	ra.unhook()
	ra.stop()
	ra.wg.Wait()
}

// takeBudget reserves n bytes of the store's read-ahead budget, if that
// many are left.
func (s *Store) takeBudget(n int64) bool {
	for {
		free := s.budget.Load()
		if free < n {
			return false
		}
		if s.budget.CompareAndSwap(free, free-n) {
			return true
		}
	}
}

func (s *Store) giveBudget(n int64) {
	if n != 0 {
		s.budget.Add(n)
	}
}
