// Package projector keeps a read model following the event log: from the
// read model's checkpoint it reads the stream in order and hands each batch
// to the read model, which commits the batch and its checkpoint together.
// The all-in-one service runs one in-process; cmd/projector runs one on its
// own. An empty read model behind a long stream is first rebuilt in bulk
// (Config.Rebuild), then followed; readiness (Projector.Ready) says whether
// the read model has caught up with the stream as it was at start.
//
// It declares what it needs of the log it follows (Log) and of the read
// model it writes (Store, Rebuild); the wiring adapts eventlog.Log and
// projections.Store to them. It must never import an adapter package
// (eventlog, projections, HTTP, Watermill, the file store): cmd/projector
// links only what a projector needs, and a test there checks it. It holds
// no rule and decodes no event: the read model does.
package projector
