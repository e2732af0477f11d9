package expirer

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

// errBusy is returned by the handler when the batch stays full because
// schedule commits fail or lag; the Retry middleware tries again.
var errBusy = errors.New("expirer: schedule commits are not keeping up")

// permanentError marks a message that can never be handled: retrying is
// pointless, and it goes to the poison queue.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// isPermanent reports whether err is a permanentError or a recovered
// panic. A panic is treated as permanent: decoding is deterministic, so the
// same message would panic again, forever.
func isPermanent(err error) bool {
	var p permanentError
	var r middleware.RecoveredPanicError
	return errors.As(err, &p) || errors.As(err, &r)
}

// handle takes one message of the consumer into the batch. A message is
// decoded here, not in the unmarshaler, so that one that cannot be goes
// through the middlewares to the poison queue; an unmarshaler error would
// make the subscriber drop the message unacknowledged, before any
// middleware (watermill#184).
func (f *feed) handle(msg *message.Message) error {
	d := decode(msg)
	p := d.pos
	if !d.posOK {
		f.log.Warn("expirer ignored a message without JetStream metadata", "subject", msg.Metadata.Get(metaSubject))
		return nil
	}
	if !f.admit(p) {
		return nil
	}
	if d.err != nil {
		f.st.malformed.Add(1)
		return permanentError{d.err}
	}
	if !d.isLink || d.change.First && d.change.Deadline == nil {
		// Not a link event, or a link created without expires_at: the
		// schedule has nothing to change, only the position moves.
		return f.take(msg.Context(), p, nil)
	}
	if d.change.Unsupported {
		f.st.unsupported.Add(1)
		f.log.Warn("expirer skipped an event this binary cannot read; it rereads it on the next start",
			"seq", p.stream, "subject", msg.Metadata.Get(metaSubject))
	}
	return f.take(msg.Context(), p, &d.change)
}

// admit reports whether the message is the next one to take. Deliveries
// are numbered by the consumer, redeliveries included, so a number that
// does not follow the last one taken means a message was lost on the way
// (not acknowledged, or dropped by the client) and the order can no longer
// be trusted: the feed asks for a resync, which repositions the consumer
// at the checkpoint. A redelivery of a message already taken is dropped.
func (f *feed) admit(p position) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.broken:
		return false
	case p.consumer != f.lastCSeq+1:
		f.broken = true
		f.requestResync("delivery " + strconv.FormatUint(p.consumer, 10) + " after " + strconv.FormatUint(f.lastCSeq, 10))
		return false
	case p.stream <= f.through:
		f.lastCSeq = p.consumer
		return false
	}
	return true
}

// take adds the message's change (nil: none) to the batch and makes it the
// last message taken. It waits while the batch is full, up to a few
// seconds, then returns errBusy.
func (f *feed) take(ctx context.Context, p position, c *schedule.Change) error {
	var limit <-chan time.Time
	for {
		f.mu.Lock()
		if c == nil || len(f.batch) < 2*f.cfg.FlushSize {
			if f.broken || p.consumer != f.lastCSeq+1 {
				f.mu.Unlock()
				return nil // the session is being replaced
			}
			if c != nil {
				f.batch = append(f.batch, *c)
			}
			f.lastCSeq, f.through = p.consumer, p.stream
			full := len(f.batch) >= f.cfg.FlushSize
			f.mu.Unlock()
			f.st.received.Add(1)
			if full {
				select {
				case f.flushNow <- struct{}{}:
				default:
				}
			}
			return nil
		}
		flushed := f.flushed
		f.mu.Unlock()
		if limit == nil {
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			limit = t.C
		}
		select {
		case <-flushed:
		case <-ctx.Done():
			return ctx.Err()
		case <-limit:
			return errBusy
		}
	}
}

// takeFailed takes a message that failed for good before it is poisoned,
// so the checkpoint passes it and the next delivery follows it. Should the
// take fail, the message is neither taken nor poisoned; the gap it leaves
// brings it back through a resync.
func (f *feed) takeFailed(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || !isPermanent(err) {
			return out, err
		}
		if p, ok := positionOf(msg); ok {
			if terr := f.take(msg.Context(), p, nil); terr != nil {
				return out, terr
			}
		}
		return out, err
	}
}
