package projections

// arena hands out byte slices carved from large chunks. bbolt keeps a
// reference to every value passed to Put until the transaction commits, so
// values can never be reused buffers; one chunk per few hundred values
// instead of one allocation each keeps Apply fast.
type arena struct {
	buf []byte
}

const arenaChunk = 64 << 10

// alloc returns a slice of length and capacity n that nothing else uses.
func (a *arena) alloc(n int) []byte {
	if n > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
	off := len(a.buf)
	a.buf = a.buf[:off+n]
	return a.buf[off : off+n : off+n]
}

// reset makes the memory handed out so far available again: only for a
// caller that no longer uses, and never gave bbolt, anything it allocated.
func (a *arena) reset() { a.buf = a.buf[:0] }
