// Package eventlog stores link events in a NATS JetStream stream, the source
// of truth of filelinks, and reads them back.
//
// One stream holds every link event, on a subject per link and class
// (events.SubjectOf). Writes are optimistic per link: Update loads the link's
// last event with a direct get (any replica can answer), lets the caller
// decide, and publishes with the expected last sequence of all the link's
// subjects (events.LinkFilter); on a conflict it reloads and decides again,
// a bounded number of times, and returns what it appended and the state
// before it (domain.Change). Each message carries Nats-Msg-Id = the event id,
// so a retried publish is stored once. One event is published by
// publishOne (publish.go: PublishMsg written out, kept for speed, with its
// measurement), the events of one command by orbit's PublishMsgBatch.
// Follow reads the stream in order from a sequence, in batches, for
// projectors.
//
// This is the only package that imports nats.go for the event log. It never
// decides a business rule: the closure passed to Update does.
package eventlog
