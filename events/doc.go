// Package events is the public, versioned contract of the filelinks event log.
//
// Every change to a file link is recorded as one of four events, LinkCreated,
// LinkUpdated, LinkExpired and LinkDeleted, wrapped in an Envelope and stored
// as JSON in a NATS JetStream stream, on a subject per link and class (see
// SubjectPrefix and ClassOf). The
// stream is the source of truth: read models, the expirer, downstream
// subscribers and auditors all read these bytes, so the shapes here change only
// by adding optional fields, and any other change is a new Schema version with
// a test that old events still decode.
//
// Every envelope carries, besides the typed payload that says what changed,
// the link's complete state after the event (Envelope.Link). One read of a
// link's latest event therefore restores the aggregate without a replay, and a
// subscriber needs no lookups to act on an event.
//
// This package imports only the standard library and never decides business
// rules; those live in package domain.
package events
