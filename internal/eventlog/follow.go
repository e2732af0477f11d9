package eventlog

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
)

// MaxBatch is the largest batch Follow hands to its callback.
const MaxBatch = 500

// Follow reads the stream in order from sequence from (1 or 0: the start)
// and calls apply with batches of consecutive events. A batch is handed over
// when it holds MaxBatch events or when the reader has caught up with the
// stream, so a live event is applied at once and a replay is applied in
// large batches. apply must not keep the slice after it returns. Follow returns when ctx ends (with nil) or when apply
// returns an error (with that error).
//
// It uses an ordered consumer: ephemeral, unacknowledged and recreated by the
// client on a gap, so nothing is stored on the server and the reader's
// position is only the checkpoint its caller keeps.
func (l *Log) Follow(ctx context.Context, from uint64, apply func([]events.Record) error) error {
	cfg := jetstream.OrderedConsumerConfig{}
	if from > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from
	}
	cons, err := l.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("eventlog: follow from %d: %w", from, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * MaxBatch))
	if err != nil {
		return fmt.Errorf("eventlog: follow from %d: %w", from, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	batch := make([]events.Record, 0, MaxBatch)
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("eventlog: follow: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("eventlog: follow: metadata: %w", err)
		}
		batch = append(batch, events.Record{Seq: md.Sequence.Stream, Subject: msg.Subject(), Data: msg.Data()})
		if len(batch) < MaxBatch && md.NumPending > 0 {
			continue
		}
		if err := apply(batch); err != nil {
			return err
		}
		batch = batch[:0]
	}
}

// History returns every event of one link, oldest first, fully decoded: what
// an auditor replays. An event that cannot be decoded is an error naming its
// sequence.
func (l *Log) History(ctx context.Context, mode events.Mode, id string) ([]events.Event, error) {
	subject := events.Subject(mode, id)
	last, err := l.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eventlog: history of %s: %w", id, err)
	}
	cons, err := l.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, fmt.Errorf("eventlog: history of %s: %w", id, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("eventlog: history of %s: %w", id, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	var out []events.Event
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("eventlog: history of %s: %w", id, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("eventlog: history of %s: %w", id, err)
		}
		e, err := events.Unmarshal(msg.Data())
		if err != nil {
			return nil, fmt.Errorf("eventlog: history of %s at seq %d: %w", id, md.Sequence.Stream, err)
		}
		out = append(out, e)
		if md.Sequence.Stream >= last.Sequence {
			return out, nil
		}
	}
}
