package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// Config describes the event stream. The zero value is the single-server
// default.
type Config struct {
	// Stream is the stream name. Default "FILELINKS_EVENTS".
	Stream string
	// Replicas is the number of stream replicas; 3 on a cluster. Default 1.
	Replicas int
	// Duplicates is the window in which a publish with an already stored
	// Nats-Msg-Id is dropped as a duplicate. Default: the longest time
	// over which Append publishes the same events again (retryHorizon of
	// the JetStream context's timeout), and at least 30 seconds.
	Duplicates time.Duration
	// MaxAttempts bounds load-decide-append rounds under contention before
	// Update gives up with a conflict. Default 8.
	MaxAttempts int
}

func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = "FILELINKS_EVENTS"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Duplicates == 0 {
		c.Duplicates = minDuplicates
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
}

// Log is the event log.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    Config
}

// StreamConfig returns the stream definition for cfg. The stream never
// discards an event: no age, count or size limit, and when the server runs
// out of space it refuses new events (DiscardNew) instead of dropping old
// ones. Deleting single messages and purging are denied: the log is an
// audit trail.
func StreamConfig(cfg Config) jetstream.StreamConfig {
	cfg.setDefaults()
	return jetstream.StreamConfig{
		Name:               cfg.Stream,
		Description:        "filelinks link and file events (source of truth)",
		Subjects:           []string{events.SubjectAll, events.FileSubjectAll},
		Retention:          jetstream.LimitsPolicy,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxAge:             0,
		MaxMsgsPerSubject:  -1,
		Discard:            jetstream.DiscardNew,
		Storage:            jetstream.FileStorage,
		Replicas:           cfg.Replicas,
		Duplicates:         cfg.Duplicates,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowDirect:        true,
		AllowAtomicPublish: true,
	}
}

// minDuplicates is the least default duplicate window.
const minDuplicates = 30 * time.Second

// retryHorizon bounds the time between the first and the last publish of
// the same events by one Append: publishRetries+1 publishes, each waiting
// at most timeout for an acknowledgement, or twice that for an atomic
// batch (its first message's, then its commit's).
func retryHorizon(timeout time.Duration) time.Duration {
	return (publishRetries + 1) * 2 * timeout
}

// Open creates the stream, or updates it to the current definition, and
// returns the log.
//
// The default duplicate window is short on purpose: the server keeps every
// id of the window in a map that the garbage collector scans, over NATS's
// default of two minutes a million ids at 10,000 events a second. The window
// protects little: every append also carries an expected sequence, so a
// publish repeated after it is refused as a conflict, which store then
// recognises as its own write. It need only cover Append's own
// republishing (retryHorizon).
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Log, error) {
	if cfg.Duplicates == 0 {
		cfg.Duplicates = max(minDuplicates, retryHorizon(js.Options().DefaultTimeout))
	}
	cfg.setDefaults()
	st, err := js.CreateOrUpdateStream(ctx, StreamConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("eventlog: create stream %s: %w", cfg.Stream, err)
	}
	return &Log{js: js, stream: st, cfg: cfg}, nil
}

// lastMsg returns the last message on the subjects filter matches,
// wildcards allowed, or jetstream.ErrMsgNotFound.
func (l *Log) lastMsg(ctx context.Context, filter string) (*jetstream.RawStreamMsg, error) {
	return directLast(ctx, l.js, l.cfg.Stream, filter)
}

// LastSequence returns the sequence of the newest event in the stream (0
// when empty).
func (l *Log) LastSequence(ctx context.Context) (uint64, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("eventlog: stream info: %w", err)
	}
	return info.State.LastSeq, nil
}

// LastSequenceOf returns the sequence of the newest event on the subjects
// filter matches, wildcards allowed (0 when there is none).
func (l *Log) LastSequenceOf(ctx context.Context, filter string) (uint64, error) {
	msg, err := l.lastMsg(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("eventlog: last event on %s: %w", filter, err)
	}
	return msg.Sequence, nil
}

// Load returns a link's state and the stream sequence of its last event. For
// a link without events it returns the zero state with ID and Mode set and
// sequence 0. The state is read from the last event's snapshot, so Load is
// one direct get however long the link's history is.
func (l *Log) Load(ctx context.Context, mode events.Mode, id string) (domain.Link, uint64, error) {
	msg, err := l.lastMsg(ctx, events.LinkFilter(mode, id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return domain.Link{ID: id, Mode: mode}, 0, nil
	}
	if err != nil {
		return domain.Link{}, 0, fmt.Errorf("eventlog: load %s: %w", id, err)
	}
	env, err := events.UnmarshalEnvelope(msg.Data)
	if err != nil {
		return domain.Link{}, 0, fmt.Errorf("eventlog: load %s at seq %d: %w", id, msg.Sequence, err)
	}
	return domain.FromState(env.Link), msg.Sequence, nil
}

// First returns the first event of a link, decoded, and its stream
// sequence, or ok == false when the link has no events. A create replayed
// for an idempotency key answers with it.
func (l *Log) First(ctx context.Context, mode events.Mode, id string) (events.Event, uint64, bool, error) {
	msg, err := l.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(events.LinkFilter(mode, id)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return events.Event{}, 0, false, nil
	}
	if err != nil {
		return events.Event{}, 0, false, fmt.Errorf("eventlog: first event of %s: %w", id, err)
	}
	e, err := events.Unmarshal(msg.Data)
	if err != nil {
		return events.Event{}, 0, false, fmt.Errorf("eventlog: first event of %s at seq %d: %w", id, msg.Sequence, err)
	}
	return e, msg.Sequence, true, nil
}
