package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/filelinks/filelinks/internal/filestore"
	"github.com/filelinks/filelinks/internal/randid"
)

func TestStore_GetRange(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, filestore.Config{})
	data := random(5*chunk+100, 9)
	id := randid.New("file_")
	if _, err := s.Put(ctx, id, bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))

	for _, tc := range []struct {
		name           string
		offset, length int64
	}{
		{"FirstByte", 0, 1},
		{"AcrossChunkBoundary", 2*chunk - 10, 20},
		{"ChunkStart", 3 * chunk, 1},
		{"ChunkEnd", 3*chunk - 1, 1},
		{"SeveralChunks", chunk + 1, 3 * chunk},
		{"LastByte", size - 1, 1},
		{"LastChunk", 5 * chunk, 100},
		{"Tail", chunk/2 + 3, size - chunk/2 - 3},
		{"Whole", 0, size},
		{"Empty", 17, 0},
		{"EmptyAtEnd", size, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Scans()
			r, err := s.GetRange(ctx, id, tc.offset, tc.length)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := readAll(t, r), data[tc.offset:tc.offset+tc.length]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d (equal prefix %d)", len(got), len(want), commonPrefix(got, want))
			}
			if s.Scans() != before {
				t.Fatal("scanned for the first chunk of an object written alone")
			}
		})
	}

	t.Run("ErrInvalidRange", func(t *testing.T) {
		for _, rg := range [][2]int64{{-1, 1}, {0, -1}, {size, 1}, {0, size + 1}, {size + 1, 0}, {size - 1, 2}} {
			if _, err := s.GetRange(ctx, id, rg[0], rg[1]); !errors.Is(err, filestore.ErrInvalidRange) {
				t.Errorf("range %v: err = %v, want ErrInvalidRange", rg, err)
			}
		}
	})

	t.Run("SmallReads", func(t *testing.T) {
		r, err := s.GetRange(ctx, id, 10, 2*chunk)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var got bytes.Buffer
		buf := make([]byte, 1000)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), data[10:10+2*chunk]) {
			t.Fatal("content differs")
		}
	})

	t.Run("CloseEarly", func(t *testing.T) {
		r, err := s.GetRange(ctx, id, 0, size)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(make([]byte, 10)); err == nil || err == io.EOF {
			t.Fatalf("read after close: %v", err)
		}
	})
}

// TestStore_GetRange_Interleaved uploads two objects whose chunks are
// interleaved in the stream, as concurrent uploads are. Put records where
// the chunks are, so range reads compute their start; without that record
// (a failed recording, or an object written by another tool) a range that
// does not start in chunk 0 scans.
func TestStore_GetRange_Interleaved(t *testing.T) {
	ctx := context.Background()
	s, srv := openStore(t, filestore.Config{})
	a, b := random(6*chunk+5, 10), random(4*chunk, 11)
	idA, idB := randid.New("file_"), randid.New("file_")
	var errB error
	// After A's third chunk has been handed over, B is stored in full, so
	// B's chunks and description land between A's chunks.
	ra := &trickle{r: bytes.NewReader(a), n: chunk, after: 3 * chunk, hook: func() {
		_, errB = s.Put(ctx, idB, bytes.NewReader(b), -1)
	}}
	if _, err := s.Put(ctx, idA, ra, -1); err != nil {
		t.Fatal(err)
	}
	if errB != nil {
		t.Fatal(errB)
	}

	ranges := []struct {
		name           string
		offset, length int64
	}{
		{"BeforeGap", chunk + 3, chunk},
		{"AfterGap", 5*chunk + 1, chunk + 4},
		{"AcrossGap", 2*chunk + 7, 2 * chunk},
		{"LastByte", int64(len(a)) - 1, 1},
		{"FirstChunk", 5, 10},
		{"Whole", 0, int64(len(a))},
	}
	check := func(t *testing.T, wantScan bool) {
		for _, tc := range ranges {
			t.Run(tc.name, func(t *testing.T) {
				before := s.Scans()
				r, err := s.GetRange(ctx, idA, tc.offset, tc.length)
				if err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, r); !bytes.Equal(got, a[tc.offset:tc.offset+tc.length]) {
					t.Fatalf("got %d bytes, equal prefix %d", len(got), commonPrefix(got, a[tc.offset:]))
				}
				want := wantScan && tc.offset >= chunk
				if scanned := s.Scans() != before; scanned != want {
					t.Fatalf("scanned = %v, want %v", scanned, want)
				}
			})
		}
	}
	t.Run("Recorded", func(t *testing.T) { check(t, false) })

	obs, err := srv.JS.ObjectStore(ctx, "FILELINKS_FILES")
	if err != nil {
		t.Fatal(err)
	}
	info, err := obs.GetInfo(ctx, idA)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Metadata) != 2 {
		t.Fatalf("metadata %v, want the chunking and the layout", info.Metadata)
	}
	info.Metadata = map[string]string{"filelinks-chunking": "fixed"}
	publishMeta(t, srv.JS, info)
	t.Run("NotRecorded", func(t *testing.T) { check(t, true) })

	if got := readAll(t, mustGet(t, s, idB)); !bytes.Equal(got, b) {
		t.Fatal("B differs")
	}
}

func mustGet(t testing.TB, s *filestore.Store, id string) io.ReadCloser {
	t.Helper()
	obj, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
