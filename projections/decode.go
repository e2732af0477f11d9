package projections

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// decoded is one record after decoding: a link event, a file event, or
// why it is neither.
type decoded struct {
	view  events.LinkView   // a link event, with slices of the record's bytes
	file  *events.FileState // set for a file event instead of view
	err   error             // wraps events.ErrMalformed or events.ErrUnsupported
	other bool              // neither a link nor a file event: nothing to apply
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
// buffer for every batch (and the memory of its LinkViews).
func startDecoding(recs []events.Record, buf *[]decoded) *decoding {
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
					decodeInto(&d.out[i], recs[i])
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

// decodeInto decodes r into d, which may hold an earlier record, and checks
// what the read model's keys rely on beyond the contract's own checks. An
// event failing those could not have been written by the domain; like any
// malformed event it is skipped. A record on another subject is not this
// read model's concern; one without a subject is taken for a link event.
func decodeInto(d *decoded, r events.Record) {
	d.file, d.err, d.other = nil, nil, false
	switch {
	case events.IsFileSubject(r.Subject):
		d.file, d.err = decodeFile(r.Data)
		d.forgetView()
	case r.Subject != "" && !strings.HasPrefix(r.Subject, linkSubjects):
		d.other = true
		d.forgetView()
	default:
		v := &d.view
		if d.err = events.DecodeLinkView(r.Data, v); d.err == nil {
			d.err = checkKeys(v.LinkID, v.FileID)
		}
	}
}

// forgetView drops what d.view holds of an earlier record (slices of its
// bytes), so that a reused buffer keeps no earlier batch alive, and keeps
// the metadata's memory for the next link event.
func (d *decoded) forgetView() {
	clear(d.view.Metadata)
	d.view = events.LinkView{Metadata: d.view.Metadata[:0]}
}

// checkKeys checks the parts of a link's state that become bbolt keys. A
// token is not one of them (links are keyed by sequence, tokens by
// nothing), so its length is bounded only by the event's.
func checkKeys(id string, fileID []byte) error {
	switch {
	case !domain.ValidID(id):
		return fmt.Errorf("%w: invalid link id %q", events.ErrMalformed, id)
	case bytes.IndexByte(fileID, sepFile) >= 0 || len(fileID) > maxKeyPart:
		return fmt.Errorf("%w: invalid file id", events.ErrMalformed)
	}
	return nil
}

// linkSubjects prefixes the subjects of link events.
const linkSubjects = events.SubjectPrefix + "."

// maxKeyPart bounds file ids and purposes, which become parts of bbolt
// keys (at most 32 KiB).
const maxKeyPart = 4096
