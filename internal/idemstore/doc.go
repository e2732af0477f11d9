// Package idemstore keeps Stripe-style idempotency records in a NATS
// JetStream key-value bucket, so that every API replica sees the same
// records.
//
// A POST that carries an Idempotency-Key calls Begin before it runs. Begin
// atomically creates an "in progress" record (a KV Create, which succeeds
// for one caller only) and returns a Claim; the request then runs and ends
// with Complete, which stores its response, or Abandon, which deletes the
// record so that nothing is saved (a failed validation or an internal
// error). A later Begin with the same key and the same request fingerprint
// gets the stored response to replay; with another fingerprint it gets
// ErrMismatch; while the first request runs it gets ErrInUse. A record
// left in progress longer than Config.Lease belongs to a process that
// died: the next Begin takes it over with a revision-checked update, which
// exactly one of several racers wins, and the dead owner's Complete then
// fails with ErrLeaseLost. Records expire with the bucket's MaxAge
// (Config.TTL, 24 hours).
//
// Every write is checked against the revision the writer read, so a read
// answered by a replica that is slightly behind can only cause a spurious
// ErrInUse or ErrMismatch, never a lost or doubled claim.
//
// The KV key is the hex SHA-256 of the scope (the account or API key and
// mode, chosen by the caller) and the client's key, so any client string is
// a safe key and scopes cannot collide.
//
// The package must never keep records in process memory, never store a
// response it was not asked to store, and never decide what a response or
// an HTTP status is: the caller renders errors and replays.
package idemstore
