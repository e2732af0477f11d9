// Package projections is the read side of filelinks: a read model of file
// links, and of the files they point to, in one bbolt file, fed by the
// projector with the events of the stream and queried by the APIs.
//
// The projector reads the stream in order from Checkpoint()+1 and calls
// Apply with batches of records. Every event carries the link's complete
// state after it (events.Envelope.Link), so applying an event is an upsert of
// that state, kept only when its version is newer than the stored one. Each
// Apply is one bbolt transaction that writes the batch's changes and the new
// checkpoint together: a crash loses a whole batch or nothing, and a batch
// delivered again changes nothing. Queries (Get, GetByToken, List, and
// GetFile, ListFiles for the FileCreated events that share the stream) read
// committed state; WaitFor lets a process wait until the events it wrote
// are applied before it reads, for read-your-writes.
//
// The package must never decide a business rule: it stores what the events
// say, and "expired" is always domain.Link.Expired at the caller's clock. It
// imports bbolt and no other adapter (no NATS, no HTTP); the only other
// package that imports bbolt is internal/expirer/schedule, with a file of
// its own. Exactly one Store, in one process, has a file open (Open fails
// with ErrLocked after Options.Timeout otherwise); only Apply and a
// finishing Rebuild write it; and it never uses bbolt's DB.Batch, which
// reorders and re-runs writes.
//
// # Layout
//
// Keys start with a mode byte, 't' (test) or 'l' (live), so the modes never
// see each other's links. A link's order key is its created time (12 bytes:
// seconds with the sign bit flipped, then nanoseconds, both big-endian, so
// bytes sort like times) followed by the stream sequence of the event that
// created it (8 bytes), which breaks ties and makes the order total and
// stable. The buckets:
//
//	links        mode|sequence of the creating event → record: order key,
//	             flags, id, version, times, file id, token, metadata
//	             (record.go). A deleted link stays as a tombstone with its
//	             order key, so a cursor naming it works. A link is found
//	             by id through an index in memory (idindex.go).
//	by_created   mode|class|order key → id
//	by_file      mode|file id|0x00|class|order key → id
//	by_deadline  mode|expires_at|order key → id and file id, for the links
//	             with an expiry and no LinkExpired yet
//	meta         "checkpoint" → sequence, "schema" → layout version
//	skipped      sequence → why that event was skipped as malformed
//	files, files_by_created, files_by_purpose: the same for files, which
//	             are immutable (files.go)
//
// The class is 'x' once a LinkExpired was applied and 'n' before. Deleted
// links have no index entries. Index values hold no field that an update can
// change, so an update writes the link and, if its expiry moved, its
// by_deadline entry, nothing else.
//
// # Queries
//
// A list walks one or two index ranges with bbolt cursors between order-key
// bounds built from created_from/created_before and the cursor link (whose
// order key is read from its record): down from the upper bound, newest
// first, or, for ending_before, up from just above the cursor, reversed
// afterwards. It stops after limit+1 matches, which tells has_more. Which
// ranges it walks:
//
//	no filter      by_created n and x, merged by order key
//	file           by_file n and x of that file, merged
//	expired=true   the x range, merged with the links in by_deadline up to now
//	               (past their deadline but not yet expired by an event)
//	expired=false  the n range, skipping those same links
//	ids            a point lookup per id, sorted by order key
//
// Links past their deadline without a LinkExpired are the expirer's backlog:
// normally a handful, as it appends LinkExpired right after each deadline.
// expired=true reads the whole backlog; expired=false collects up to 256 of
// it up front and, beyond that, checks the deadline of each link it walks.
// No query scans all links of a mode.
//
// # Rebuilding
//
// The read model is a pure function of the stream: every key and value is
// derived from the events alone (metadata is encoded in key order), never
// from batch boundaries or the wall clock. Applying the stream from sequence
// 1 into a fresh file therefore gives the same buckets byte for byte, which
// Digest checks. Store.Rebuild builds an empty read model that way in bulk
// (rebuild.go, rebuild_write.go, rebuild_index.go, rebuild_replace.go): it
// writes a file of its own without fsync, which is thrown away if the
// rebuild does not finish, and renames it over the store's file when it
// does.
//
// # Costs
//
// New links are appended to the last page of links (keyed by sequence) and
// of by_created; by_file and by_deadline take an entry near the other
// entries of the same file or deadline. Ids made from an idempotency key
// are random, which is why links is not keyed by id: each new link would
// rewrite a random page (and its branch pages) in every commit. Decoding
// the JSON events (events.DecodeLinkView, events.UnmarshalFile) runs on up
// to GOMAXPROCS other goroutines while the transaction writes.
// The file is opened with NoFreelistSync, as etcd does: commits do not
// write the free-page list, and Open rebuilds it by scanning the file
// instead.
package projections
