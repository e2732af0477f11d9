// Package service wires the parts of filelinks into a running process: the
// JetStream connection (or an embedded server), the event log, the content
// and idempotency stores, the read model with its projector, the use cases
// and the HTTP API. The binaries in cmd/ only load the configuration, call
// Start and wait for a signal; tests call Start the same way.
//
// It is the one place below cmd/ that knows every adapter. It holds no rule
// and no handler.
package service
