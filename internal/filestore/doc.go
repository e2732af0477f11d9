// Package filestore keeps the content of uploaded files in a NATS JetStream
// Object Store bucket and streams it back, whole or by byte range.
//
// Content goes in and out chunk by chunk. Put hands the object store
// chunks of ChunkSize bytes (the object store publishes each as one
// message) and works out the size, the SHA-256 digest and the sniffed
// content type on the way. A reader fetches each chunk with one direct
// get, so it keeps nothing on the server and any replica can answer. When
// it knows where every chunk is (see below) it keeps the next chunks
// requested while its caller consumes the current one (Config.ReadAhead,
// bounded for all readers together by Config.ReadAheadTotal), so a
// download is not one round trip per chunk; otherwise it fetches the next
// chunk when its caller needs it. Either way a reader holds a bounded
// number of chunks, and no call ever holds a whole file.
//
// Range reads start at the chunk that holds the first byte instead of
// reading and dropping everything before it. The object store (NATS
// ADR-20) publishes an object's chunks on the subject $O.<bucket>.C.<nuid>
// and then its description on $O.<bucket>.M.<base64url name>. Put makes
// every chunk but the last exactly ChunkSize long, so the chunk index is
// offset / ChunkSize. When no other upload was interleaved, the chunks
// fill the sequences just before the description and chunk k's sequence
// is computed; when uploads were interleaved, Put walks the chunk subject
// once (headers only) and records the runs of sequences in the object's
// metadata. Only an object without either (written by another tool, or
// whose recording failed) is walked at read time, and read one chunk at
// a time. See GetRange. A read that knows the sequences checks every
// chunk against its own, so a lost chunk is ErrCorrupt even in a range
// that no digest covers.
//
// A whole read (Get, or a range that covers the object) checks the SHA-256
// the object store recorded at upload; a partial range cannot, and relies
// on the server's own per-message checksums.
//
// The package must never hold a whole file in memory, never leave a partial
// object behind a failed Put, and never decide who may read which file:
// names come in validated and authorised. It must be the only writer of
// its bucket; an object written by another tool still reads correctly,
// only its range reads always scan and its reads never read ahead.
package filestore
