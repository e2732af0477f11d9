// Package app runs the file-link use cases: each command is load, decide,
// append (through the event log), and each query reads the projected read
// model. Both API dialects and the expirer call it, so no rule and no step is
// written twice.
//
// It declares the small interfaces it needs (LinkLog, LinkReads, FileLookup
// for links; ContentStore, FileLog, FileReads for files) and is wired to the
// adapters in cmd/. It imports no adapter: only the standard library,
// domain and events.
package app
