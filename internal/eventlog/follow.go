package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
)

// MaxBatch is the largest batch Follow hands to its callback.
const MaxBatch = 500

// Follow reads the stream in order from sequence from (1 or 0: the start)
// and calls apply with batches of consecutive events, at most MaxBatch
// long. A reader goroutine fetches while apply runs, and each batch is
// whatever has arrived since the last one: a lone live event is applied at
// once, and when events arrive faster than apply commits (a replay, or many
// writers at once) they are grouped, so one commit covers many (group
// commit).
//
// With linger above zero, Follow holds a batch open for up to linger after
// its first event arrived, unless it fills up first or a value is received
// from hurry, so that a stream written in many small pieces is applied in
// fewer, larger batches; a reader that waits for the batch sends on hurry
// (a projection's Store.Hurry) to have it applied at once. Follow returns when ctx ends
// (with nil) or when apply returns an error (with that error). apply must
// not keep the slice after it returns.
//
// It uses an ordered consumer: ephemeral, unacknowledged and recreated by the
// client on a gap, so nothing is stored on the server and the reader's
// position is only the checkpoint its caller keeps.
func (l *Log) Follow(ctx context.Context, from uint64, apply func([]events.Record) error, linger time.Duration, hurry <-chan struct{}) error {
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	recs := make(chan events.Record, 2*MaxBatch)
	// full is signalled when recs holds a batch, so that a lingering
	// batch is applied at once.
	full := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(recs)
		for {
			msg, err := it.Next()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					readErr <- fmt.Errorf("eventlog: follow: %w", err)
				}
				return
			}
			md, err := msg.Metadata()
			if err != nil {
				readErr <- fmt.Errorf("eventlog: follow: metadata: %w", err)
				return
			}
			select {
			case recs <- events.Record{Seq: md.Sequence.Stream, Subject: msg.Subject(), Data: msg.Data()}:
			case <-ctx.Done():
				return
			}
			if len(recs) >= MaxBatch {
				select {
				case full <- struct{}{}:
				default:
				}
			}
		}
	}()

	batch := make([]events.Record, 0, MaxBatch)
	var timer *time.Timer
	if linger > 0 {
		timer = time.NewTimer(linger)
		defer timer.Stop()
	}
	for {
		r, ok := <-recs
		if !ok {
			select {
			case err := <-readErr:
				return err
			default:
				return nil
			}
		}
		batch = append(batch[:0], r)
		if timer != nil && len(recs) < MaxBatch-1 {
			// Wait for the batch to fill without waking for each
			// event: until the timer fires, a reader hurries or recs
			// holds a batch.
			timer.Reset(linger)
			select {
			case <-timer.C:
			case <-hurry:
			case <-full:
			case <-ctx.Done():
			}
		}
		// Take what is there. A closed recs ends the batch; the next
		// receive reports why.
	fill:
		for len(batch) < MaxBatch {
			select {
			case r, ok := <-recs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if err := apply(batch); err != nil {
			return err
		}
	}
}

// History returns every event of one link, oldest first, fully decoded: what
// an auditor replays. An event that cannot be decoded is an error naming its
// sequence.
func (l *Log) History(ctx context.Context, mode events.Mode, id string) ([]events.Event, error) {
	subject := events.LinkFilter(mode, id)
	last, err := l.lastMsg(ctx, subject)
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
