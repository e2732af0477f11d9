package schedule

import (
	"encoding/binary"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// The file's layout:
//
//	by_deadline  deadline (12 bytes, timeKey) | mode byte | link id → empty
//	by_link      mode byte | link id → deadline (12 bytes)
//	meta         "checkpoint" → last stream sequence applied (8 bytes)
//	             "pending" → number of links in by_link (8 bytes)
//	             "layout" → layoutVersion
//	             "reread_from" → first unsupported event skipped (8 bytes)
//
// by_deadline sorts by time, so the due links are a prefix of it; by_link
// holds each link's one deadline, so a moved deadline replaces the old entry
// instead of adding a second one.
var (
	bucketByDeadline = []byte("by_deadline")
	bucketByLink     = []byte("by_link")
	bucketMeta       = []byte("meta")

	keyCheckpoint = []byte("checkpoint")
	keyPending    = []byte("pending")
	keyLayout     = []byte("layout")
	keyReread     = []byte("reread_from")
)

// layoutVersion is the version of the file's layout. A file of another
// version is refused with ErrSchema (delete it: it is rebuilt from the
// stream).
const layoutVersion = 1

// timeLen is the length of an encoded deadline.
const timeLen = 12

// timeKey encodes t so that byte order is time order, for any year
// time.Time holds: the Unix seconds with the sign bit flipped, then the
// nanoseconds, both big-endian. (UnixNano would overflow beyond 2262, and a
// link may expire in year 9999.)
func timeKey(t time.Time) []byte {
	b := make([]byte, timeLen, timeLen+1+64)
	binary.BigEndian.PutUint64(b, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return b
}

func readTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// linkKey returns mode byte | link id, and false for a mode or id that no
// valid event carries.
func linkKey(mode events.Mode, id string) ([]byte, bool) {
	var m byte
	switch mode {
	case events.ModeTest:
		m = 't'
	case events.ModeLive:
		m = 'l'
	default:
		return nil, false
	}
	if !domain.ValidID(id) {
		return nil, false
	}
	k := make([]byte, 0, 1+len(id))
	return append(append(k, m), id...), true
}

// entryOf decodes a by_deadline key.
func entryOf(k []byte) Entry {
	return Entry{
		Deadline: readTime(k),
		Mode:     modeOf(k[timeLen]),
		LinkID:   string(k[timeLen+1:]),
	}
}

// modeOf is the inverse of the mode byte of linkKey.
func modeOf(b byte) events.Mode {
	if b == 'l' {
		return events.ModeLive
	}
	return events.ModeTest
}

func uintBytes(n uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n)
}

// readUint reads a value of uintBytes; anything else reads as 0.
func readUint(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
