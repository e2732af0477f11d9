// Package expirer appends LinkExpired when a link's deadline comes. It runs
// on its own (cmd/expirer) or inside the all-in-one process
// (internal/service); any number of expirers may run at once.
//
// The expirer keeps a durable schedule of pending expiries (projections.Schedule, a bbolt file it
// owns) that follows the event stream: a Watermill router consumes link
// events from a durable JetStream consumer, which the server filters to
// the events of class expiry (events.SubjectsExpiry: a link created without
// expires_at is never sent), and each event sets, moves or removes its
// link's deadline from the link state it carries. A timer
// fires the deadlines in order with a pool of workers, each calling the
// same use case as the API (app.Links.Expire): load, the pure decision
// domain.ExpireLink, an optimistic append on the link's subject. So a link
// updated, expired by hand or deleted since its deadline was scheduled is
// never expired wrongly, and two expirers never append two LinkExpired for
// one link: the second finds the link expired and appends nothing.
//
// The schedule's checkpoint is the only position that counts. On every
// start, and whenever the subscription can no longer be trusted, the
// consumer is put back at checkpoint+1 (positionConsumer), which is what
// lets the feed acknowledge messages before their changes are committed and
// commit them in batches. Messages that cannot be decoded are taken (the
// checkpoint passes them), logged, counted and copied to a small poison
// stream; nothing loops on them.
//
// Watermill traps avoided (watermill-nats v2.1.3): the consumer is created
// here and the subscriber only binds to it, because closing a subscriber
// deletes a durable consumer the library created itself; one subscription
// per consumer, with no deliver group, keeps the order; a custom
// unmarshaler carries the stream and consumer sequences, which the library
// drops; the subscriber and the poison publisher get a connection of their
// own, because closing them drains or closes their connection.
//
// The package decides no business rule (the domain does) and never reads
// the wall clock to decide: time comes from Deps.Now, the clock the use case
// decides with. It must never write to the event stream except through
// Links.Expire.
package expirer
