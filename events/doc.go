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
// The package holds the one encoder (Marshal) and the one decoder
// (Unmarshal, UnmarshalEnvelope, and DecodeLinkView for readers of the
// whole stream) of the contract. encoding/json on the types of this package
// defines the bytes; Marshal writes them without reflection and the decoder
// reads them with a parser of its own, both falling back on encoding/json
// for what they do not handle, and both fuzzed against it.
//
// This package imports only the standard library (TestDeps checks it) and
// never decides business rules; those live in package domain.
package events
