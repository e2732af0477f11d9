package eventlog

import (
	"context"
	"encoding/json"
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

// ErrConflict is returned by Append when the link's subject no longer ends
// at the expected sequence: another writer appended first.
var ErrConflict = errors.New("eventlog: concurrent append")

// Update loads the link, calls decide and appends its events with an
// optimistic check on the link's subject, retrying on conflict. It returns
// the state after the appended events and the stream sequence of the link's
// last event (the loaded one when decide returned no events). When
// MaxAttempts rounds all conflict, it returns an *domain.Error with code
// ECONFLICT; errors from decide are returned as they are.
//
// decide gets the link's current state and returns the sealed events to
// append; none means nothing changes. It may be called more than once, each
// time with fresher state, so it must have no side effects.
func (l *Log) Update(ctx context.Context, mode events.Mode, id string, decide func(domain.Link) ([]events.Event, error)) (domain.Link, uint64, error) {
	for attempt := 0; attempt < l.cfg.MaxAttempts; attempt++ {
		state, seq, err := l.Load(ctx, mode, id)
		if err != nil {
			return domain.Link{}, 0, err
		}
		evs, err := decide(state)
		if err != nil {
			return domain.Link{}, 0, err
		}
		if len(evs) == 0 {
			return state, seq, nil
		}
		last, err := l.Append(ctx, seq, evs)
		if errors.Is(err, ErrConflict) {
			if err := backoff(ctx, attempt); err != nil {
				return domain.Link{}, 0, err
			}
			continue
		}
		if err != nil {
			return domain.Link{}, 0, err
		}
		return domain.FromState(evs[len(evs)-1].Link), last, nil
	}
	return domain.Link{}, 0, domain.Errorf(domain.ECONFLICT, domain.ReasonConcurrentUpdate, "",
		"The file link '%s' was changed by another request at the same time; please retry.", id)
}

// Create is Update for a link id that was just generated and so has no
// events: it skips the load, decides on the empty state and appends expecting
// an empty subject. Should the subject not be empty after all, the append
// conflicts and Create falls back to Update, which loads and decides again.
func (l *Log) Create(ctx context.Context, mode events.Mode, id string, decide func(domain.Link) ([]events.Event, error)) (domain.Link, uint64, error) {
	state := domain.Link{ID: id, Mode: mode}
	evs, err := decide(state)
	if err != nil || len(evs) == 0 {
		return state, 0, err
	}
	last, err := l.Append(ctx, 0, evs)
	if errors.Is(err, ErrConflict) {
		return l.Update(ctx, mode, id, decide)
	}
	if err != nil {
		return domain.Link{}, 0, err
	}
	return domain.FromState(evs[len(evs)-1].Link), last, nil
}

// Append stores evs, all events of one link, as one atomic unit, provided the
// link's subject still ends at stream sequence expect (0: the link has no
// events yet). It returns the stream sequence of the last event stored, or
// ErrConflict.
//
// A publish whose acknowledgement was lost may be retried by the caller with
// the same events: the server drops the copy by Nats-Msg-Id, and when it
// answers the retry with a conflict instead (a single server checks the
// expected sequence first), Append sees that the subject's last event is its
// own and reports success.
func (l *Log) Append(ctx context.Context, expect uint64, evs []events.Event) (uint64, error) {
	if len(evs) == 0 {
		return 0, errors.New("eventlog: append of no events")
	}
	filter := l.linkFilter(evs[0].Mode, evs[0].LinkID)
	msgs := make([]*nats.Msg, len(evs))
	for i, e := range evs {
		if e.LinkID != evs[0].LinkID || e.Mode != evs[0].Mode {
			return 0, errors.New("eventlog: append of events of several links")
		}
		data, err := events.Marshal(e)
		if err != nil {
			return 0, err
		}
		msgs[i] = newMsg(l.subjectOf(e), data, e.ID, e.Payload.EventType())
	}
	msgs[0].Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
	if !l.legacy {
		// The check covers all of the link's subjects, whatever their class.
		msgs[0].Header.Set(jetstream.ExpectedLastSubjSeqSubjHeader, filter)
	}
	msgs[0].Header.Set(jetstream.ExpectedStreamHeader, l.cfg.Stream)

	return l.store(ctx, filter, msgs, evs[len(evs)-1].ID)
}

// store publishes msgs, all on the subjects filter matches, with the
// expectation already set on the first, and returns the sequence of the
// last. lastID is the message id of the last message, by which a stored
// earlier attempt is recognised.
func (l *Log) store(ctx context.Context, filter string, msgs []*nats.Msg, lastID string) (uint64, error) {
	seq, err := l.publish(ctx, msgs)
	for retry := 0; retry < publishRetries && isLostAck(err) && ctx.Err() == nil; retry++ {
		// The events may or may not be stored: publish the same messages
		// again; their ids make a stored copy harmless.
		seq, err = l.publish(ctx, msgs)
	}
	if err == nil {
		return seq, nil
	}
	if !isWrongLastSequence(err) {
		return 0, fmt.Errorf("eventlog: append to %s: %w", filter, err)
	}
	// Maybe it was our own write whose ack was lost: then the subject's
	// last message is our last message.
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

func (l *Log) publish(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	if len(msgs) == 1 {
		return l.publishOne(ctx, msgs[0])
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

// publishOne is jetstream's PublishMsg for the path of every command: a
// request to the stream and its acknowledgement, read without encoding/json
// when it is the usual {"stream":"<ours>","seq":N,...} (parsePubAck). The
// errors are PublishMsg's: an *jetstream.APIError for a refusal,
// jetstream.ErrNoStreamResponse when no stream answers (after retries, as
// PublishMsg does, for a stream between leaders), and a timeout.
//
// The wait is bounded by the JetStream context's default timeout, or ctx's
// deadline when that is sooner (so that retryHorizon holds), but not cut
// short when ctx is canceled afterwards: a request whose client went away
// still learns whether its event was stored, for the idempotency of its
// retry. That lets the request wait on a pooled timer (nats.Conn.RequestMsg)
// instead of a context of its own, which costs eight allocations per
// publish.
func (l *Log) publishOne(ctx context.Context, m *nats.Msg) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	timeout := l.js.Options().DefaultTimeout
	if d, ok := ctx.Deadline(); ok {
		if timeout = min(timeout, time.Until(d)); timeout <= 0 {
			return 0, context.DeadlineExceeded
		}
	}
	deadline := time.Now().Add(timeout)
	nc := l.js.Conn()
	resp, err := nc.RequestMsg(m, timeout)
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < jetstream.DefaultPubRetryAttempts; r++ {
		wait := min(jetstream.DefaultPubRetryWait, time.Until(deadline))
		if wait <= 0 {
			return 0, nats.ErrTimeout
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		if timeout = time.Until(deadline); timeout <= 0 {
			return 0, nats.ErrTimeout
		}
		resp, err = nc.RequestMsg(m, timeout)
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return 0, jetstream.ErrNoStreamResponse
	case err != nil:
		return 0, err
	}
	return parsePubAck(resp.Data, l.cfg.Stream)
}

// parsePubAck returns the sequence of a JetStream publish acknowledgement
// from stream, or its error. The server writes the error first when there
// is one, so an answer that starts with the stream's name and a sequence
// is a success; anything else is decoded by encoding/json.
func parsePubAck(b []byte, stream string) (uint64, error) {
	prefix := `{"stream":"` + stream + `","seq":`
	if len(b) > len(prefix) && string(b[:len(prefix)]) == prefix {
		var seq uint64
		i := len(prefix)
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9' && i-len(prefix) < 19; i++ {
			seq = seq*10 + uint64(b[i]-'0')
		}
		if i > len(prefix) && i < len(b) && (b[i] == '}' || b[i] == ',') && seq > 0 {
			return seq, nil
		}
	}
	var ack struct {
		Error  *jetstream.APIError `json:"error"`
		Stream string              `json:"stream"`
		Seq    uint64              `json:"seq"`
	}
	if err := json.Unmarshal(b, &ack); err != nil {
		return 0, jetstream.ErrInvalidJSAck
	}
	if ack.Error != nil {
		return 0, fmt.Errorf("nats: %w", ack.Error)
	}
	if ack.Stream == "" {
		return 0, jetstream.ErrInvalidJSAck
	}
	return ack.Seq, nil
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
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	m.Header.Set(jetstream.ExpectedStreamHeader, l.cfg.Stream)
	return l.store(ctx, subject, []*nats.Msg{m}, e.ID)
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
