package projections

import (
	"encoding/binary"
	"time"

	"github.com/filelinks/filelinks/events"
)

// Bucket names. Changing any key or value layout below is a schema change:
// bump schemaVersion so that Open refuses an old file and it is rebuilt.
var (
	bucketLinks    = []byte("links")       // mode|creating sequence → record (see record.go, idindex.go)
	bucketCreated  = []byte("by_created")  // mode|class|orderKey → entry value
	bucketFile     = []byte("by_file")     // mode|fileID|0x00|class|orderKey → entry value
	bucketDeadline = []byte("by_deadline") // mode|deadline|orderKey → entry value with file id
	bucketMeta     = []byte("meta")        // keyCheckpoint, keySchema
	bucketSkipped  = []byte("skipped")     // seq → why the event was skipped
)

var allBuckets = [][]byte{
	bucketLinks, bucketCreated, bucketFile, bucketDeadline, bucketMeta, bucketSkipped,
	bucketFiles, bucketFilesByCreated, bucketFilesByPurpose,
}

var (
	keyCheckpoint = []byte("checkpoint")
	keySchema     = []byte("schema")
)

// schemaVersion is the layout of the read model in the file. Version 2
// keys links by the sequence that created them instead of by id; version 3
// has no by_token bucket (tokens name their link, domain.ParseToken), which
// Digest, reading every bucket, would otherwise find in an older file.
const schemaVersion = 3

// Mode bytes, the first byte of every per-mode key.
const (
	modeTest = 't'
	modeLive = 'l'
)

// Classes split the per-mode indexes by whether a LinkExpired event was
// applied, the only part of "expired" that does not depend on the clock.
const (
	classOpen    = 'n' // no LinkExpired yet; may still be expired by clock
	classExpired = 'x' // a LinkExpired was applied
)

const (
	timeLen = 12          // encoded time: seconds (8, sign flipped) | nanoseconds (4)
	okLen   = timeLen + 8 // order key: created time | sequence of the creating event
	seqLen  = 8           // big-endian stream sequence
	maxID   = 255         // ids are domain.ValidID, so their length fits one byte
	sepFile = byte(0x00)  // ends the file id in by_file keys; ids never contain it
	signBit = uint64(1) << 63
)

// modeBytes are the two mode bytes that start keys.
var modeBytes = [...]byte{modeTest, modeLive}

// modeByte returns the key prefix of m.
func modeByte(m events.Mode) (byte, bool) {
	switch m {
	case events.ModeTest:
		return modeTest, true
	case events.ModeLive:
		return modeLive, true
	}
	return 0, false
}

// modeOf is the inverse of modeByte.
func modeOf(b byte) events.Mode {
	if b == modeTest {
		return events.ModeTest
	}
	return events.ModeLive
}

// putTime writes t in timeLen bytes that sort like the times they encode,
// for every time with a seconds value that fits an int64 (UnixNano would
// overflow after the year 2262, and expires_at is client input).
func putTime(dst []byte, t time.Time) {
	binary.BigEndian.PutUint64(dst, uint64(t.Unix())^signBit)
	binary.BigEndian.PutUint32(dst[8:], uint32(t.Nanosecond()))
}

// getTime is the inverse of putTime; it returns UTC.
func getTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ signBit)
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// orderKey is a link's position in every list: the time it was created, then
// the stream sequence of the event that created it, so ties are broken and
// the order never changes.
func orderKey(created time.Time, seq uint64) []byte {
	ok := make([]byte, okLen)
	putTime(ok, created)
	binary.BigEndian.PutUint64(ok[timeLen:], seq)
	return ok
}

// timeBound is the smallest order key at time t, so that "ok >= timeBound(t)"
// means "created at or after t".
func timeBound(t time.Time) []byte {
	b := make([]byte, okLen)
	putTime(b, t)
	return b
}

// after returns the smallest order key greater than ok.
func after(ok []byte) []byte {
	b := append([]byte(nil), ok...)
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return b
		}
	}
	return nil // ok was all 0xff: nothing is greater; no real key is that large
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, seqLen), seq)
}

// linkKey is the key of a link in the links bucket: its mode and the
// sequence part of its order key ok, the sequence of the event that
// created it. Links are appended in the order they were created, so a new
// link lands on the last page of the bucket; its id is found through the
// in-memory idIndex.
func linkKey(mode byte, ok []byte) []byte {
	k := make([]byte, 0, linkKeyLen)
	return append(append(k, mode), ok[timeLen:okLen]...)
}

// linkKeyOfSeq is linkKey for a sequence.
func linkKeyOfSeq(mode byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, linkKeyLen), mode), seq)
}

const linkKeyLen = 1 + seqLen

// idKey is mode|id: the key of a file in the files bucket, and how a
// Rebuild names the links it holds in memory.
func idKey(mode byte, id string) []byte {
	k := make([]byte, 0, 1+len(id))
	return append(append(k, mode), id...)
}

// createdPrefix is the by_created range of one mode and class.
func createdPrefix(mode, class byte) []byte { return []byte{mode, class} }

// filePrefix is the by_file range of one file's links of one class.
func filePrefix(mode byte, fileID string, class byte) []byte {
	k := make([]byte, 0, len(fileID)+3)
	k = append(k, mode)
	k = append(k, fileID...)
	return append(k, sepFile, class)
}

// purposePrefix is the files_by_purpose range of one purpose.
func purposePrefix(mode byte, purpose string) []byte {
	k := make([]byte, 0, len(purpose)+2)
	return append(append(append(k, mode), purpose...), sepFile)
}

// deadlinePrefix is the by_deadline range of one mode.
func deadlinePrefix(mode byte) []byte { return []byte{mode} }

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil when there is none.
func prefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xff {
			end := append([]byte(nil), p[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}

// readUint reads a big-endian sequence or counter.
func readUint(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
