// Package expirer appends LinkExpired when a link's deadline comes. It is
// the one expirer of filelinks: it runs on its own (cmd/expirer) or inside
// the all-in-one process (FILELINKS_EXPIRER=true, the default), and any
// number of expirers, each with its own name and schedule file, may run at
// once.
//
// It keeps a durable schedule of pending expiries (internal/expirer/schedule,
// a bbolt file it owns, expirer.db) that follows the event stream, and
// fires the schedule's deadlines:
//
//   - The feed (feed.go, handler.go, message.go) is a Watermill router that
//     consumes link events from a durable JetStream consumer, which the
//     server filters to the events of class expiry (events.SubjectsExpiry:
//     a link created without expires_at is never sent). The handler decodes
//     each event (schedule.ChangeOf), which sets, moves or removes its
//     link's deadline from the link state it carries, and adds the change
//     to a batch that is committed to the schedule with its checkpoint.
//   - The timer (timer.go) takes the due entries in order and a pool of
//     workers calls, for each, the same use case as the API
//     (Links.Expire, which app.Links implements): load, the pure decision
//     domain.ExpireLink, an optimistic append on the link's subjects. So a
//     link updated, expired by hand or deleted since its deadline was
//     scheduled is never expired wrongly, and two expirers never append two
//     LinkExpired for one link: the second finds the link expired and
//     appends nothing.
//
// The schedule's checkpoint is the only position that counts. On every
// start, and whenever the subscription can no longer be trusted, the
// consumer is put back at checkpoint+1 (positionConsumer, consumer.go),
// which is what lets the feed acknowledge messages before their changes
// are committed and commit them in batches. Messages that cannot be
// decoded are taken (the checkpoint passes them), logged, counted and
// copied to a small poison stream (poison.go); nothing loops on them. A
// failure that may pass (a schedule that cannot commit) is retried by
// Watermill's Retry middleware as it is (retryPolicy).
//
// The package is the Watermill and JetStream consumer adapter of the
// expirer; what it appends to and what it schedules in are small
// interfaces declared here (Links, store). Watermill traps avoided
// (watermill-nats v2.1.3): the consumer is created here and the subscriber
// only binds to it, because closing a subscriber deletes a durable
// consumer the library created itself; one subscription per consumer, with
// no deliver group, keeps the order; a custom unmarshaler carries the
// stream and consumer sequences, which the library drops; the subscriber
// and the poison publisher get a connection of their own, because closing
// them drains or closes their connection.
//
// The package decides no business rule (the domain does) and never reads
// the wall clock to decide: time comes from Deps.Now, the clock the use case
// decides with. It must never write to the event stream except through
// Links.Expire.
package expirer
