package projections

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// A record is the value of a link in the links bucket. Its layout (format 2):
//
//	[0]      format
//	[1]      flags (record*)
//	[2:22]   order key: created time | sequence of the creating event
//	uvarint length + bytes: id
//	uvarint  version
//	12 bytes each, when flagged: expires_at, expired_at, deleted_at
//	uvarint length + bytes: file id, token
//	uvarint count, then per metadata key in sorted order:
//	uvarint length + key, uvarint length + value
//
// The order key sits at a fixed offset, so a list cursor is resolved without
// decoding. Sorted metadata keys make the encoding a function of the state,
// which a rebuild relies on to produce the same bytes.
const recordFormat = 2

const (
	recordDeleted   = 1 << 0
	recordExpiresAt = 1 << 1
	recordExpiredAt = 1 << 2
	recordDeletedAt = 1 << 3
)

const recordHead = 2 + okLen

var errCorrupt = errors.New("projections: corrupt record")

// stored is a link as the read model keeps it.
type stored struct {
	link    domain.Link
	ok      []byte // order key, see orderKey
	deleted bool
}

// recordOfView returns the record that the link event v gives its link,
// whose order key is ok, in memory from a. A deleted link is kept only as
// a tombstone (id, order key, version, deleted_at): cursors naming it must
// keep working, but its token and metadata are of no use any more. Apply
// and Rebuild both write records with it, so they write the same bytes.
func recordOfView(a *arena, v *events.LinkView, ok []byte) []byte {
	times := [3]events.NullTime{v.ExpiresAt, v.ExpiredAt, v.DeletedAt}
	deleted := v.DeletedAt.Valid
	var flags byte
	n := recordHead + binary.MaxVarintLen16 + len(v.LinkID) + binary.MaxVarintLen64 + 3*timeLen
	if deleted {
		flags = recordDeleted
		times[0], times[1] = events.NullTime{}, events.NullTime{}
	} else {
		n += 2*binary.MaxVarintLen16 + len(v.FileID) + len(v.Token) + binary.MaxVarintLen16
		for _, e := range v.Metadata {
			n += 2*binary.MaxVarintLen16 + len(e.Key) + len(e.Value)
		}
	}
	for i, f := range [3]byte{recordExpiresAt, recordExpiredAt, recordDeletedAt} {
		if times[i].Valid {
			flags |= f
		}
	}
	b := a.alloc(n)[:0]
	b = append(b, recordFormat, flags)
	b = append(b, ok...)
	b = appendString(b, v.LinkID)
	b = binary.AppendUvarint(b, v.Version)
	for _, t := range times {
		if t.Valid {
			b = b[:len(b)+timeLen]
			putTime(b[len(b)-timeLen:], t.Time)
		}
	}
	if deleted {
		return b
	}
	b = appendString(b, v.FileID)
	b = appendString(b, v.Token)
	// The metadata is sorted by key (DecodeLinkView), which makes the
	// record a function of the state.
	b = binary.AppendUvarint(b, uint64(len(v.Metadata)))
	for _, e := range v.Metadata {
		b = appendString(b, e.Key)
		b = appendString(b, e.Value)
	}
	return b
}

func appendString[T string | []byte](b []byte, s T) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeRecord decodes the record val stored under key. Without withMetadata
// it leaves Metadata nil, which is all index maintenance needs. The result
// owns its memory: it stays valid after the transaction.
func decodeRecord(key, val []byte, withMetadata bool) (stored, error) {
	if len(key) != linkKeyLen || len(val) < recordHead || val[0] != recordFormat {
		return stored{}, fmt.Errorf("%w: key %x", errCorrupt, key)
	}
	flags := val[1]
	s := stored{
		ok:      append([]byte(nil), val[2:recordHead]...),
		deleted: flags&recordDeleted != 0,
	}
	l := &s.link
	l.Mode = modeOf(key[0])
	l.Created = getTime(s.ok)
	d := decoder{b: val[recordHead:]}
	l.ID = d.string()
	l.Version = d.uvarint()
	l.ExpiresAt = d.time(flags&recordExpiresAt != 0)
	l.ExpiredAt = d.time(flags&recordExpiredAt != 0)
	l.DeletedAt = d.time(flags&recordDeletedAt != 0)
	if !s.deleted {
		l.FileID = d.string()
		l.Token = d.string()
		if withMetadata {
			n := d.uvarint()
			l.Metadata = make(map[string]string, min(n, 64))
			for i := uint64(0); i < n && d.err == nil; i++ {
				k := d.string()
				l.Metadata[k] = d.string()
			}
		}
	}
	if d.err != nil {
		return stored{}, fmt.Errorf("%w: key %x", errCorrupt, key)
	}
	return s, nil
}

// recordVersion reads the version of a record.
func recordVersion(rec []byte) (uint64, bool) {
	d, _, v := recordBody(rec)
	return v, d.err == nil
}

// recordID returns the id of a record, a slice of it, and false when the
// record is too short to hold one.
func recordID(rec []byte) ([]byte, bool) {
	if len(rec) < recordHead || rec[0] != recordFormat {
		return nil, false
	}
	d := decoder{b: rec[recordHead:]}
	id := d.bytes()
	return id, d.err == nil
}

// recordBody returns the decoder of a record's fields after its id and
// version, the id (a slice of the record) and the version.
func recordBody(rec []byte) (decoder, []byte, uint64) {
	if len(rec) < recordHead || rec[0] != recordFormat {
		return decoder{err: errCorrupt}, nil, 0
	}
	d := decoder{b: rec[recordHead:]}
	id := d.bytes()
	v := d.uvarint()
	return d, id, v
}

// decoder reads the variable part of a record; the first failure sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time(present bool) *time.Time {
	if !present || d.err != nil {
		return nil
	}
	if len(d.b) < timeLen {
		d.err = errCorrupt
		return nil
	}
	t := getTime(d.b)
	d.b = d.b[timeLen:]
	return &t
}

// bytes reads a string as a slice of the record.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = errCorrupt
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
