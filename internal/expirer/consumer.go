package expirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
)

// ErrInUse is returned by Start when another subscriber is bound to the
// expirer's durable consumer: another expirer runs with the same name.
var ErrInUse = errors.New("expirer: durable consumer is in use by another expirer")

// consumerConfig is the expirer's durable push consumer, delivering the
// link events on filter from stream sequence from on (see streamFilter).
//
// It has no deliver group on purpose: the Watermill subscriber sees one
// message at a time only as long as exactly one subscription is bound, and
// without a group nats.go refuses to bind a second one ("consumer is
// already bound") instead of splitting the events between two processes.
// Heartbeats let the client notice a consumer that was deleted or a server
// that went away. AckWait is long because a message may wait behind up to
// MaxAckPending others in the client; a redelivery is harmless anyway (the
// feed drops what it has taken).
func consumerConfig(cfg Config, from uint64, filter string) jetstream.ConsumerConfig {
	c := jetstream.ConsumerConfig{
		Durable:        cfg.Name,
		Description:    "filelinks expirer " + cfg.Name + ": link events into its expiry schedule",
		DeliverSubject: "_INBOX.filelinks.expirer." + cfg.Name,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        2 * time.Minute,
		MaxDeliver:     -1,
		FilterSubject:  filter,
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
		MaxAckPending:  2048,
		IdleHeartbeat:  5 * time.Second,
	}
	if from > 1 {
		c.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		c.OptStartSeq = from
	}
	return c
}

// positionConsumer makes the durable consumer deliver from checkpoint+1,
// the schedule's checkpoint being the one position that counts: the
// consumer is kept when it is exactly there (everything it delivered was
// acknowledged, up to the checkpoint), and deleted and created again at
// checkpoint+1 when it is behind, ahead, of another shape, or missing. So
// the feed may acknowledge a message before the schedule change it causes is
// committed: if the process dies in between, the next start repositions
// the consumer before the lost change and it is delivered again.
//
// It returns the consumer sequence of the last message delivered (0 for a
// new consumer), the next delivery having the one after it, and the
// consumer's filter, the subject a subscription binds with.
func positionConsumer(ctx context.Context, js jetstream.JetStream, cfg Config, ckpt uint64, log *slog.Logger) (uint64, string, error) {
	st, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		return 0, "", fmt.Errorf("expirer: stream %s: %w", cfg.Stream, err)
	}
	filter := streamFilter
	want := consumerConfig(cfg, ckpt+1, filter)
	info, err := boundInfo(ctx, st, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case errors.Is(err, jetstream.ErrNotPushConsumer):
		log.Warn("expirer replaces a pull consumer of its name", "consumer", cfg.Name)
		if err := st.DeleteConsumer(ctx, cfg.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return 0, "", fmt.Errorf("expirer: delete consumer %s: %w", cfg.Name, err)
		}
	case err != nil:
		return 0, "", err
	case atCheckpoint(info, ckpt) && sameShape(info.Config, want):
		return info.Delivered.Consumer, filter, nil
	default:
		log.Info("expirer repositions its consumer at the schedule's checkpoint", "consumer", cfg.Name,
			"checkpoint", ckpt, "consumer_ack_floor", info.AckFloor.Stream, "consumer_delivered", info.Delivered.Stream,
			"unacknowledged", info.NumAckPending)
		if err := st.DeleteConsumer(ctx, cfg.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return 0, "", fmt.Errorf("expirer: delete consumer %s: %w", cfg.Name, err)
		}
	}
	if _, err := st.CreatePushConsumer(ctx, want); err != nil {
		return 0, "", fmt.Errorf("expirer: create consumer %s at %d: %w", cfg.Name, ckpt+1, err)
	}
	return 0, filter, nil
}

// check reports an error when the consumer is gone or no subscription is
// bound to it. A server that does not answer is no reason to resubscribe:
// the connection reconnects by itself, and the binding with it.
func (f *feed) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cons, err := f.js.PushConsumer(ctx, f.cfg.Stream, f.cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrNotPushConsumer):
		return fmt.Errorf("consumer %s: %w", f.cfg.Name, err)
	case err != nil:
		return nil
	case !cons.CachedInfo().PushBound:
		return fmt.Errorf("consumer %s has no subscription", f.cfg.Name)
	}
	return nil
}

// boundInfo returns the consumer's info once no subscriber is bound to it.
// A subscription of a process that just stopped can take a moment to
// disappear from the server; one still there after a few seconds belongs
// to another expirer.
func boundInfo(ctx context.Context, st jetstream.Stream, name string) (*jetstream.ConsumerInfo, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		cons, err := st.PushConsumer(ctx, name)
		if err != nil {
			return nil, err
		}
		info := cons.CachedInfo()
		if !info.PushBound {
			return info, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s", ErrInUse, name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// atCheckpoint reports whether the consumer would deliver checkpoint+1
// next with nothing outstanding.
func atCheckpoint(info *jetstream.ConsumerInfo, ckpt uint64) bool {
	return info.NumAckPending == 0 && info.NumRedelivered == 0 &&
		info.AckFloor.Stream == ckpt && info.Delivered.Stream == ckpt
}

// streamFilter is the subjects the expirer's consumer takes: the events of
// class expiry, the only ones that can change a deadline, so that a link
// created without expires_at, the common case, costs the expirer nothing.
const streamFilter = events.SubjectsExpiry

func sameShape(have, want jetstream.ConsumerConfig) bool {
	return have.DeliverSubject == want.DeliverSubject && have.DeliverGroup == "" &&
		have.FilterSubject == want.FilterSubject && len(have.FilterSubjects) == 0 &&
		have.AckPolicy == want.AckPolicy && have.IdleHeartbeat == want.IdleHeartbeat &&
		have.MaxAckPending == want.MaxAckPending && have.AckWait == want.AckWait
}

// poisonStreamConfig is the stream that keeps what the expirer could not
// handle, for diagnosis. It is small and forgets: the event stream stays
// the source of truth, and a poisoned message is also logged and counted.
func poisonStreamConfig(cfg Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        cfg.PoisonStream,
		Description: "filelinks: messages workers could not handle (diagnostic copies)",
		Subjects:    []string{PoisonSubjects},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      30 * 24 * time.Hour,
		MaxBytes:    64 << 20,
		MaxMsgs:     -1,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
		Duplicates:  2 * time.Minute,
	}
}
