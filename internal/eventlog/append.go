package eventlog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// ErrConflict is returned by Append when the link's subjects no longer end
// at the expected sequence: another writer appended first.
var ErrConflict = errors.New("eventlog: concurrent append")

// Update loads the link, calls decide and appends its events with an
// optimistic check on the link's subjects, retrying on conflict. It returns
// the change (the state decide was last called with and the events
// appended) and the stream sequence of the link's last event: the last
// appended, or the loaded one when decide returned no events. When
// MaxAttempts rounds all conflict, it returns an *domain.Error with code
// ECONFLICT; errors from decide are returned as they are.
//
// decide gets the link's current state and returns the sealed events to
// append; none means nothing changes. It may be called more than once, each
// time with fresher state, so it must have no side effects.
func (l *Log) Update(ctx context.Context, mode events.Mode, id string, decide func(domain.Link) ([]events.Event, error)) (domain.Change, uint64, error) {
	for attempt := 0; attempt < l.cfg.MaxAttempts; attempt++ {
		state, seq, err := l.Load(ctx, mode, id)
		if err != nil {
			return domain.Change{}, 0, err
		}
		change, last, err := l.decideAppend(ctx, state, seq, decide)
		if errors.Is(err, ErrConflict) {
			if err := backoff(ctx, attempt); err != nil {
				return domain.Change{}, 0, err
			}
			continue
		}
		return change, last, err
	}
	return domain.Change{}, 0, domain.Errorf(domain.ECONFLICT, domain.ReasonConcurrentUpdate, "",
		"The file link '%s' was changed by another request at the same time; please retry.", id)
}

// Create is Update for a link id that was just generated and so has no
// events: it skips the load, decides on the empty state and appends expecting
// empty subjects. Should they not be empty after all, the append conflicts
// and Create falls back to Update, which loads and decides again.
func (l *Log) Create(ctx context.Context, mode events.Mode, id string, decide func(domain.Link) ([]events.Event, error)) (domain.Change, uint64, error) {
	change, last, err := l.decideAppend(ctx, domain.Link{ID: id, Mode: mode}, 0, decide)
	if errors.Is(err, ErrConflict) {
		return l.Update(ctx, mode, id, decide)
	}
	return change, last, err
}

// decideAppend is one round of Update on state, read at stream sequence
// seq: it returns ErrConflict when the link changed since.
func (l *Log) decideAppend(ctx context.Context, state domain.Link, seq uint64, decide func(domain.Link) ([]events.Event, error)) (domain.Change, uint64, error) {
	evs, err := decide(state)
	switch {
	case err != nil:
		return domain.Change{}, 0, err
	case len(evs) == 0:
		return domain.Change{Before: state}, seq, nil
	}
	last, err := l.Append(ctx, seq, evs)
	if err != nil {
		return domain.Change{}, 0, err
	}
	return domain.Change{Before: state, Events: evs}, last, nil
}

// Append stores evs, all events of one link, as one atomic unit, provided the
// link's subjects still end at stream sequence expect (0: the link has no
// events yet). It returns the stream sequence of the last event stored, or
// ErrConflict.
//
// A publish whose acknowledgement was lost may be retried by the caller with
// the same events: the server drops the copy by Nats-Msg-Id, and when it
// answers the retry with a conflict instead (a single server checks the
// expected sequence first), Append sees that the link's last event is its
// own and reports success.
func (l *Log) Append(ctx context.Context, expect uint64, evs []events.Event) (uint64, error) {
	if len(evs) == 0 {
		return 0, errors.New("eventlog: append of no events")
	}
	filter := events.LinkFilter(evs[0].Mode, evs[0].LinkID)
	msgs := make([]*nats.Msg, len(evs))
	for i, e := range evs {
		if e.LinkID != evs[0].LinkID || e.Mode != evs[0].Mode {
			return 0, errors.New("eventlog: append of events of several links")
		}
		data, err := events.Marshal(e)
		if err != nil {
			return 0, err
		}
		msgs[i] = newMsg(events.SubjectOf(e.Mode, e.LinkID, events.ClassOf(e.Payload)), data, e.ID, e.Payload.EventType())
	}
	// The check covers all of the link's subjects, whatever their class.
	return l.store(ctx, filter, msgs, expectation{seq: expect, filter: filter})
}

// expectation is the optimistic check of an append, made on its first
// message: the subjects filter matches, or the message's own subject when
// filter is "", end at stream sequence seq (0: they hold nothing yet).
type expectation struct {
	seq    uint64
	filter string
}

// setHeaders writes the expectation into h, the headers of the first
// message of an append (publishOne and PublishMsgBatch take no options).
func (e expectation) setHeaders(h nats.Header, stream string) {
	h.Set(jetstream.ExpectedStreamHeader, stream)
	h.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(e.seq, 10))
	if e.filter != "" {
		h.Set(jetstream.ExpectedLastSubjSeqSubjHeader, e.filter)
	}
}

// store publishes msgs, all on the subjects filter matches, expecting
// expect, and returns the sequence of the last. The last message's id
// (Nats-Msg-Id) is how a stored earlier attempt is recognised.
func (l *Log) store(ctx context.Context, filter string, msgs []*nats.Msg, expect expectation) (uint64, error) {
	seq, err := l.publish(ctx, msgs, expect)
	for retry := 0; retry < publishRetries && isLostAck(err) && ctx.Err() == nil; retry++ {
		// The events may or may not be stored: publish the same messages
		// again; their ids make a stored copy harmless.
		seq, err = l.publish(ctx, msgs, expect)
	}
	if err == nil {
		return seq, nil
	}
	if !isWrongLastSequence(err) {
		return 0, fmt.Errorf("eventlog: append to %s: %w", filter, err)
	}
	// Maybe it was our own write whose ack was lost: then the subject's
	// last message is our last message.
	lastID := msgs[len(msgs)-1].Header.Get(jetstream.MsgIDHeader)
	last, gerr := l.lastMsg(ctx, filter)
	if gerr == nil && last.Header.Get(jetstream.MsgIDHeader) == lastID {
		return last.Sequence, nil
	}
	return 0, ErrConflict
}

// isWrongLastSequence reports whether err is the server's answer to a failed
// expected-sequence check: code 10071 on a single server and for sequential
// conflicts, 10164 when writers race on a replicated stream.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// backoff waits a random time that grows with the attempt (up to 1, 2, 4
// ... 32 ms), so writers that raced on one link spread out instead of
// colliding again.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 5)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// publishRetries bounds how often Append publishes the same events again
// after their acknowledgement was lost.
const publishRetries = 2

// publish stores msgs, one event (publishOne, publish.go) or an atomic
// batch (orbit's PublishMsgBatch), with the expectation in the first
// message's headers. Their errors are an *jetstream.APIError for a
// refusal, jetstream.ErrNoStreamResponse when no stream answers (after
// retries, for a stream between leaders), and a timeout.
func (l *Log) publish(ctx context.Context, msgs []*nats.Msg, expect expectation) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	expect.setHeaders(msgs[0].Header, l.cfg.Stream)
	if len(msgs) == 1 {
		return l.publishOne(ctx, msgs[0]) // publish.go
	}
	// A batch waits for its first message's acknowledgement for the
	// JetStream timeout, and for its commit's as long as ctx allows: bound
	// that too, for retryHorizon.
	ctx, cancel := context.WithTimeout(ctx, l.js.Options().DefaultTimeout)
	defer cancel()
	ack, err := jetstreamext.PublishMsgBatch(ctx, l.js, msgs)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// isLostAck reports whether a publish failed without an answer from the
// stream, so the events may have been stored.
func isLostAck(err error) bool {
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}

// AppendFile stores a FileCreated event, expecting the file's subject to be
// empty, and returns its stream sequence. A retried append of the same event
// is stored once.
func (l *Log) AppendFile(ctx context.Context, e events.FileEvent) (uint64, error) {
	data, err := events.MarshalFile(e)
	if err != nil {
		return 0, err
	}
	subject := events.FileSubject(e.Mode, e.FileID)
	m := newMsg(subject, data, e.ID, events.TypeFileCreated)
	return l.store(ctx, subject, []*nats.Msg{m}, expectation{seq: 0})
}

// newMsg returns an event message with the headers every event carries.
func newMsg(subject string, data []byte, id, typ string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, id)
	m.Header.Set(events.TypeHeader, typ)
	m.Header.Set(events.SchemaHeader, strconv.Itoa(events.Schema))
	return m
}
