// Package domain holds the rules of filelinks: what may happen to a file link
// and what it looks like afterwards.
//
// The Link aggregate is pure. Decide(state, command, now) returns the payloads
// of the events a command causes, or an *Error; Evolve(state, event) returns
// the state after an event. Neither does I/O, reads a clock or makes ids: the
// caller passes the time, the ids and the facts it looked up (such as the file
// a new link points to), so every rule here can be tested with a table and
// replayed by an auditor with the same result.
//
// The package imports only the standard library and package events. It must
// never import an adapter (NATS, bbolt, HTTP).
package domain
