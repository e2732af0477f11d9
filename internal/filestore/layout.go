package filestore

import (
	"context"
	"maps"
	"strconv"
	"strings"
)

// metaLayout is the object metadata key under which Put records where the
// chunks of an interleaved upload are, as "<nuid>:<seq>+<count>,...": runs
// of chunks at consecutive stream sequences, in order. The nuid ties the
// layout to the chunks it describes.
const metaLayout = "filelinks-chunk-seqs"

// maxLayout bounds a recorded layout, which travels in the object's
// description (one message); an upload interleaved more finely than that
// is scanned when read.
const maxLayout = 64 << 10

// run is count chunks at consecutive stream sequences from seq.
type run struct {
	seq   uint64
	count uint32
}

// layout is where an object's chunks are, in order; nil when unknown.
type layout []run

// seq returns the stream sequence of chunk k.
func (l layout) seq(k uint32) (uint64, bool) {
	for _, r := range l {
		if k < r.count {
			return r.seq + uint64(k), true
		}
		k -= r.count
	}
	return 0, false
}

func (l layout) encode(nuid string) string {
	var b strings.Builder
	b.WriteString(nuid)
	b.WriteByte(':')
	for i, r := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(r.seq, 10))
		b.WriteByte('+')
		b.WriteString(strconv.FormatUint(uint64(r.count), 10))
	}
	return b.String()
}

// parseLayout reads a recorded layout. It returns nil, so that reads fall
// back to computing or scanning, unless the layout is well formed, belongs
// to nuid and accounts for exactly chunks chunks in increasing order.
func parseLayout(s, nuid string, chunks uint32) layout {
	id, runs, ok := strings.Cut(s, ":")
	if !ok || id != nuid || runs == "" {
		return nil
	}
	var l layout
	var total, next uint64
	for part := range strings.SplitSeq(runs, ",") {
		seqStr, countStr, ok := strings.Cut(part, "+")
		seq, err1 := strconv.ParseUint(seqStr, 10, 64)
		count, err2 := strconv.ParseUint(countStr, 10, 32)
		if !ok || err1 != nil || err2 != nil || count == 0 || seq < next {
			return nil
		}
		l = append(l, run{seq: seq, count: uint32(count)})
		total += count
		next = seq + count
	}
	if total != uint64(chunks) {
		return nil
	}
	return l
}

// recordLayout records, after a Put, where the chunks of an upload that
// was interleaved with others are, so that range reads of it compute
// their start instead of scanning. An upload that was not interleaved needs
// nothing: its layout follows from its description's sequence. It is best
// effort: on any failure the object stays as it is and its range reads
// scan.
func (s *Store) recordLayout(ctx context.Context, name string) {
	o, err := s.stat(ctx, name)
	if err != nil || o.chunk == 0 || o.info.Chunks < 2 {
		return
	}
	if _, ok, err := s.contiguous(ctx, o); err != nil || ok {
		return
	}
	var l layout
	err = s.walk(ctx, o, func(_ uint32, seq uint64, _ int64) bool {
		if n := len(l); n > 0 && l[n-1].seq+uint64(l[n-1].count) == seq {
			l[n-1].count++
		} else {
			l = append(l, run{seq: seq, count: 1})
		}
		return true
	})
	enc := l.encode(o.info.NUID)
	if err != nil || len(enc) > maxLayout {
		return
	}
	meta := o.info.ObjectMeta
	meta.Metadata = maps.Clone(meta.Metadata)
	meta.Metadata[metaLayout] = enc
	_ = s.obs.UpdateMeta(ctx, name, meta)
}
