// Package projector keeps a read model following the event log: from the
// read model's checkpoint it reads the stream in order and hands each batch
// to the read model, which commits the batch and its checkpoint together.
// The all-in-one service runs one in-process; cmd/projector runs one on its
// own. An empty read model behind a long stream is first rebuilt in bulk
// (Config.Rebuild), then followed; readiness (Projector.Ready) says whether
// the read model has caught up with the stream as it was at start.
//
// It declares what it needs of the log it follows (Log) and of the read
// model it writes (Store, Rebuild). *eventlog.Log and *projections.Store
// satisfy Log and Store as they are; the wiring in cmd/ passes a closure
// around projections.Store.Rebuild as Config.Rebuild. A batch is held open
// for up to Linger (20 ms) unless a reader hurries it (Store.Hurry).
// CatchUp applies the stream up to its current end and returns.
//
// It must never import an adapter package (eventlog, projections, HTTP,
// Watermill, the file store), so that cmd/projector links only what a
// projector needs: TestImports here holds it to the standard library and
// events, and cmd/projector's TestDeps fails if that binary links Gin or
// Watermill. It holds no rule and decodes no event: the read model does.
package projector
