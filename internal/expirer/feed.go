package expirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

// feed keeps the schedule following the stream: a Watermill router whose
// one handler takes each link event from the durable consumer, decodes it
// and adds its change to a batch that the committer writes to the schedule,
// with the checkpoint, every FlushInterval or FlushSize events.
//
// The handler returns, and so the message is acknowledged, before its
// change is committed: the subscriber hands over the next message only
// after the previous one is acknowledged, so waiting for the commit would
// cost a commit per event. This loses nothing because positionConsumer
// restarts the consumer from the schedule's checkpoint on every start.
type feed struct {
	cfg   Config
	log   *slog.Logger
	wlog  watermill.LoggerAdapter
	sched store
	js    jetstream.JetStream
	opts  nats.Options // of the process's connection, for our own
	st    *counters
	// wake tells the timer the earliest deadline a commit added.
	wake func(time.Time)

	resync   chan string   // a session must be restarted, and why
	flushNow chan struct{} // the batch is full
	flushed  chan struct{} // closed and replaced after each commit: room in the batch
	flushMu  sync.Mutex    // one commit at a time

	mu       sync.Mutex
	batch    []schedule.Change
	through  uint64 // stream sequence of the last message taken
	lastCSeq uint64 // consumer sequence of the last message taken
	broken   bool   // a gap was seen: ignore everything until the resync
}

// session is one binding of a Watermill subscriber to the consumer.
type session struct {
	router *message.Router
	conn   *nats.Conn
	done   chan struct{} // the router's Run returned
	closed chan struct{} // the connection is closed
}

// open positions the consumer at the schedule's checkpoint and starts a
// router bound to it. It returns once the router runs.
func (f *feed) open(ctx context.Context) (*session, error) {
	if err := f.flush(); err != nil {
		return nil, err
	}
	delivered, filter, err := positionConsumer(ctx, f.js, f.cfg, f.sched.Checkpoint(), f.log)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.lastCSeq, f.through, f.broken = delivered, f.sched.Checkpoint(), false
	f.mu.Unlock()
	select {
	case <-f.resync: // requested by the session that just ended
	default:
	}

	opts := f.opts
	opts.Name = "filelinks-expirer-" + f.cfg.Name
	opts.AsyncErrorCB = f.asyncError
	closed := make(chan struct{})
	opts.ClosedCB = func(*nats.Conn) { close(closed) }
	conn, err := opts.Connect()
	if err != nil {
		return nil, fmt.Errorf("expirer: connect: %w", err)
	}
	s := &session{conn: conn, done: make(chan struct{}), closed: closed}
	if err := f.route(ctx, s, filter); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (f *feed) route(ctx context.Context, s *session, filter string) error {
	sub, err := wmnats.NewSubscriberWithNatsConn(s.conn, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler: unmarshaler{},
		// One subscription, so one message at a time, in order.
		SubscribersCount: 1,
		// Longer than the Retry middleware can take, so the subscriber
		// never moves on without an answer for a message.
		AckWaitTimeout:   2 * time.Minute,
		CloseTimeout:     10 * time.Second,
		SubscribeTimeout: 10 * time.Second,
		JetStream: wmnats.JetStreamConfig{
			// Bind to the consumer created above; with AutoProvision off
			// and the durable named, the library creates nothing, and so
			// deletes nothing when the subscriber closes (watermill#375).
			AutoProvision:    false,
			DurablePrefix:    f.cfg.Name,
			SubscribeOptions: []nats.SubOpt{nats.Bind(f.cfg.Stream, f.cfg.Name), nats.ManualAck()},
			// The checkpoint, not the ack, is what a restart resumes
			// from, so the ack need not wait for the server.
			AckAsync: true,
		},
	}, f.wlog)
	if err != nil {
		return fmt.Errorf("expirer: subscriber: %w", err)
	}
	pub, err := wmnats.NewPublisherWithNatsConn(s.conn, wmnats.PublisherPublishConfig{
		Marshaler: poisonMarshaler{},
		// Required here: unlike NewPublisher, this constructor sets no
		// defaults and panics without one.
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: true, PublishOptions: []nats.PubOpt{nats.ExpectStream(f.cfg.PoisonStream)}},
	}, f.wlog)
	if err != nil {
		return fmt.Errorf("expirer: poison publisher: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(poisonPublisher{Publisher: pub, f: f}, PoisonSubjectPrefix+"."+f.cfg.Name, isPermanent)
	if err != nil {
		return err
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, f.wlog)
	if err != nil {
		return err
	}
	// Outermost first: the poison queue sees what is left after the
	// retries; a message that failed for good is taken (so the checkpoint
	// passes it and no gap opens) before it is poisoned; Retry retries
	// only what may pass later; Recoverer turns a panic into an error.
	r.AddMiddleware(poison, f.takeFailed, retryPolicy(f.wlog).Middleware, middleware.Recoverer)
	r.AddConsumerHandler("expirer-schedule", filter, sub, f.handle)
	s.router = r
	go func() {
		defer close(s.done)
		if err := r.Run(context.WithoutCancel(ctx)); err != nil {
			f.log.Error("expirer router stopped", "err", err)
		}
	}()
	select {
	case <-r.Running():
		return nil
	case <-s.done:
		return errors.New("expirer: router stopped at start")
	case <-time.After(15 * time.Second):
		_ = r.Close()
		return errors.New("expirer: router did not start")
	}
}

// retryPolicy retries a message whose handling may pass later (errBusy, a
// schedule that cannot commit) for up to 45 seconds, less than the
// subscriber's AckWaitTimeout, and never a permanent failure. Watermill's
// Retry (v1.5.1) takes one interval from its backoff for ShouldRetry's
// parameters and the next for the wait, so the waits are every other step
// of this progression: about 0.2, 0.8, 2, 2 and 2 s, 7 s in all.
func retryPolicy(log watermill.LoggerAdapter) middleware.Retry {
	return middleware.Retry{
		MaxRetries:      5,
		InitialInterval: 100 * time.Millisecond,
		MaxInterval:     2 * time.Second,
		Multiplier:      2,
		MaxElapsedTime:  45 * time.Second,
		ShouldRetry:     func(p middleware.RetryParams) bool { return !isPermanent(p.Err) },
		Logger:          log,
	}
}

// close stops the router, which closes the subscriber and drains its
// connection (flushing the acks), then commits what was taken.
func (f *feed) close(s *session) {
	if err := s.router.Close(); err != nil {
		f.log.Warn("expirer router close", "err", err)
	}
	<-s.done
	// Closing the router closes the subscriber, which drains the
	// connection: wait for that, so the acks go out, before closing it.
	select {
	case <-s.closed:
	case <-time.After(10 * time.Second):
		s.conn.Close()
	}
	if err := f.flush(); err != nil {
		f.log.Error("expirer could not commit its last schedule changes; the next start reads them again", "err", err)
	}
}

// asyncError hears about trouble with the subscription from nats.go: a
// deleted consumer, missed heartbeats, a sequence mismatch or dropped
// messages all mean the subscription can no longer be trusted.
func (f *feed) asyncError(_ *nats.Conn, _ *nats.Subscription, err error) {
	var mismatch *nats.ErrConsumerSequenceMismatch
	switch {
	case errors.Is(err, nats.ErrConsumerDeleted), errors.Is(err, nats.ErrConsumerNotActive),
		errors.As(err, &mismatch), errors.Is(err, nats.ErrSlowConsumer):
		f.requestResync(err.Error())
	default:
		f.log.Warn("expirer subscription", "err", err)
	}
}

func (f *feed) requestResync(why string) {
	select {
	case f.resync <- why:
	default:
	}
}

// flush commits the batch and the checkpoint. On failure the batch is kept
// for the next flush.
func (f *feed) flush() error {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	f.mu.Lock()
	changes, through := f.batch, f.through
	f.batch = make([]schedule.Change, 0, f.cfg.FlushSize)
	f.mu.Unlock()
	if len(changes) == 0 && through <= f.sched.Checkpoint() {
		return nil
	}
	if err := f.sched.Commit(changes, through); err != nil {
		f.mu.Lock()
		f.batch = append(changes, f.batch...)
		f.mu.Unlock()
		return err
	}
	f.signalFlushed()
	var earliest time.Time
	for i := range changes {
		if d := changes[i].Deadline; d != nil && (earliest.IsZero() || d.Before(earliest)) {
			earliest = *d
		}
	}
	if !earliest.IsZero() {
		f.wake(earliest)
	}
	return nil
}

func (f *feed) signalFlushed() {
	f.mu.Lock()
	close(f.flushed)
	f.flushed = make(chan struct{})
	f.mu.Unlock()
}

// commitLoop flushes every FlushInterval until stop is closed.
func (f *feed) commitLoop(stop <-chan struct{}) {
	tick := time.NewTicker(f.cfg.FlushInterval)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		case <-f.flushNow:
		}
		if err := f.flush(); err != nil {
			failures++
			f.log.Error("expirer cannot commit schedule changes; retrying", "err", err, "failures", failures)
			select {
			case <-stop:
				return
			case <-time.After(min(time.Duration(failures)*time.Second, 30*time.Second)):
			}
			continue
		}
		failures = 0
	}
}
