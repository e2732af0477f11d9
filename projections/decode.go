package projections

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// decoded is one record after decoding: an envelope, or why it has none.
type decoded struct {
	env   events.Envelope
	file  *events.FileState // set for a file event instead of env
	err   error             // wraps events.ErrMalformed or events.ErrUnsupported
	other bool              // neither a link nor a file event: nothing to apply
	// isLean is set when env holds only what Envelope.Check reads and the
	// link's id, version and creation time, and lean the rest (parseLean).
	isLean bool
	lean   leanLink
}

// decodeChunk is how many records a decoding goroutine claims at a time.
const decodeChunk = 32

// decoding decodes a batch in the background while the transaction applies
// the records already decoded. JSON decoding is a third to a half of
// Apply's CPU time and needs no order, so it runs on the cores that bbolt,
// which writes on a single goroutine, leaves idle.
type decoding struct {
	out  []decoded
	done []chan struct{} // done[c] is closed once chunk c is decoded
	wg   sync.WaitGroup
}

// startDecoding starts decoding recs on up to GOMAXPROCS goroutines; call
// wait before returning so none outlives the batch. The results go to
// *buf, which is grown if it is too short, so that a caller can use one
// buffer for every batch. With lean, link events are decoded with
// parseLean when it can.
func startDecoding(recs []events.Record, buf *[]decoded, lean bool) *decoding {
	chunks := (len(recs) + decodeChunk - 1) / decodeChunk
	if cap(*buf) < len(recs) {
		*buf = make([]decoded, len(recs))
	}
	d := &decoding{out: (*buf)[:len(recs)], done: make([]chan struct{}, chunks)}
	for c := range d.done {
		d.done[c] = make(chan struct{})
	}
	var next atomic.Int64
	for range max(1, min(runtime.GOMAXPROCS(0), chunks)) {
		d.wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				for i := c * decodeChunk; i < min((c+1)*decodeChunk, len(recs)); i++ {
					decodeInto(&d.out[i], recs[i], lean)
				}
				close(d.done[c])
			}
		})
	}
	return d
}

// get returns record i, waiting until it is decoded.
func (d *decoding) get(i int) *decoded {
	<-d.done[i/decodeChunk]
	return &d.out[i]
}

// wait returns once every decoding goroutine has ended.
func (d *decoding) wait() { d.wg.Wait() }

// decodeInto decodes r into d, which may hold an earlier record: it keeps
// only the memory of its metadata buffer.
func decodeInto(d *decoded, r events.Record, lean bool) {
	md := d.lean.md[:0]
	*d = decoded{}
	if lean && isLinkRecord(r) {
		d.lean.md = md
		if parseLean(r.Data, &d.env, &d.lean) {
			d.isLean = true
			d.err = d.env.Check()
			if d.err == nil {
				d.err = checkKeys(d.env.Link.ID, d.lean.fileID, d.lean.token)
			}
			return
		}
		d.env = events.Envelope{}
	}
	*d = decode(r)
	d.lean.md = md
}

// isLinkRecord reports whether r is taken for a link event (see decode).
func isLinkRecord(r events.Record) bool {
	return r.Subject == "" || strings.HasPrefix(r.Subject, linkSubjects)
}

// decode reads the envelope of a link event, or a file event, and checks
// what the read model's keys rely on, beyond the contract's own checks. An
// event failing those could not have been written by the domain; like any
// malformed event it is skipped. A record on another subject is not this
// read model's concern; one without a subject is taken for a link event.
func decode(r events.Record) decoded {
	switch {
	case events.IsFileSubject(r.Subject):
		return decodeFile(r.Data)
	case !isLinkRecord(r):
		return decoded{other: true}
	}
	env, err := decodeEnvelope(r.Data)
	if err == nil {
		err = checkKeys(env.Link.ID, env.Link.FileID, env.Link.Token)
	}
	if err != nil {
		return decoded{err: err}
	}
	return decoded{env: env}
}

// checkKeys checks the parts of a link's state that become bbolt keys.
func checkKeys[T string | []byte](id string, fileID, token T) error {
	switch {
	case !domain.ValidID(id):
		return fmt.Errorf("%w: invalid link id %q", events.ErrMalformed, id)
	case indexByte(fileID, sepFile) >= 0 || len(fileID) > maxKeyPart:
		return fmt.Errorf("%w: invalid file id", events.ErrMalformed)
	case len(token) > maxKeyPart:
		return fmt.Errorf("%w: token too long", events.ErrMalformed)
	}
	return nil
}

func indexByte[T string | []byte](s T, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// linkSubjects prefixes the subjects of link events.
const linkSubjects = events.SubjectPrefix + "."

// maxKeyPart bounds file ids and tokens, which become bbolt keys (at most
// 32 KiB).
const maxKeyPart = 4096
