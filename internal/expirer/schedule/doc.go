// Package schedule is the expirer's durable list of pending expiries: for
// each link due to expire, the one deadline it was scheduled for, ordered
// by time, with the stream checkpoint the list was built to. It lives in a
// bbolt file of its own (expirer.db), apart from the read model, that
// exactly one expirer process owns. The file is a pure function of the
// event stream: it can be deleted at any time and is rebuilt by reading
// the stream again.
//
// Each link event carries its link's full state, so the change an event
// makes (ChangeOf) sets the link's deadline from that state alone, in
// stream order, and replaying events is harmless. An event no binary can
// read is skipped; one too new for this binary is skipped too and read
// again on the next open (see Change.Unsupported).
//
// Only the expirer uses this package. It decides nothing about a link: it
// answers what is due, and the expirer hands each entry to the domain
// decision. It never writes to the event stream.
package schedule
