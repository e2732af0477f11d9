package filestore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/filelinks/filelinks/internal/filestore"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// small is the chunk size of the read-ahead tests: many chunks in little
// data, so a read keeps several in flight.
const small = 16 << 10

// putSmall stores n bytes in chunks of small and returns them.
func putSmall(t *testing.T, s *filestore.Store, n int, seed uint64) (string, []byte) {
	t.Helper()
	data := random(n, seed)
	id := randid.New("file_")
	if _, err := s.Put(context.Background(), id, bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	return id, data
}

// waitIdle fails unless every reader has stopped reading ahead and
// returned its budget within a second.
func waitIdle(t *testing.T, s *filestore.Store) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !s.Idle(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("read-ahead still running or budget not returned")
		}
	}
}

// deleteChunk removes chunk k of an object written alone, as a lost
// message would look.
func deleteChunk(t *testing.T, srv *natstest.Server, id string, chunks, k uint64) {
	t.Helper()
	ctx := context.Background()
	st, err := srv.JS.Stream(ctx, "OBJ_FILELINKS_FILES")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := st.GetLastMsgForSubject(ctx, "$O.FILELINKS_FILES.M."+base64.URLEncoding.EncodeToString([]byte(id)))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(ctx, meta.Sequence-chunks+k); err != nil {
		t.Fatal(err)
	}
}

func TestStore_ReadAhead(t *testing.T) {
	ctx := context.Background()
	s, srv := openStore(t, filestore.Config{ChunkSize: small, ReadAhead: 8 * small})
	id, data := putSmall(t, s, 200*small+123, 21)
	size := int64(len(data))

	t.Run("Whole", func(t *testing.T) {
		before := s.ReadAheads()
		obj, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// Odd read sizes, so chunk ends and reads never line up.
		var got bytes.Buffer
		if _, err := io.CopyBuffer(&got, struct{ io.Reader }{obj}, make([]byte, 7919)); err != nil {
			t.Fatal(err)
		}
		obj.Close()
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("got %d bytes, equal prefix %d", got.Len(), commonPrefix(got.Bytes(), data))
		}
		if s.ReadAheads() == before {
			t.Fatal("a whole read of an object written alone did not read ahead")
		}
		waitIdle(t, s)
	})

	t.Run("Ranges", func(t *testing.T) {
		for _, tc := range []struct {
			name           string
			offset, length int64
		}{
			{"ManyChunks", 3*small + 5, 150 * small},
			{"ChunkAligned", 10 * small, 40 * small},
			{"EndsOnBoundary", small / 2, 20*small - small/2},
			{"TwoChunks", 7*small - 1, 2},
			{"ToTheEnd", 100*small + 77, size - 100*small - 77},
			{"LastChunks", size - 3*small, 3 * small},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := s.ReadAheads()
				r, err := s.GetRange(ctx, id, tc.offset, tc.length)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := readAll(t, r), data[tc.offset:tc.offset+tc.length]; !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes, want %d (equal prefix %d)", len(got), len(want), commonPrefix(got, want))
				}
				if s.ReadAheads() == before {
					t.Fatal("a range over several chunks did not read ahead")
				}
				waitIdle(t, s)
			})
		}
	})

	t.Run("OneChunk", func(t *testing.T) {
		before := s.ReadAheads()
		r, err := s.GetRange(ctx, id, 5*small+1, small-2)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, r); !bytes.Equal(got, data[5*small+1:6*small-1]) {
			t.Fatal("content differs")
		}
		if s.ReadAheads() != before {
			t.Fatal("a range inside one chunk read ahead")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// A budget of three chunks for 16 readers: they share it, those
		// whose share is less than a chunk read one chunk at a time, and
		// all read right.
		s, err := filestore.Open(ctx, srv.JS, filestore.Config{ChunkSize: small, ReadAhead: 8 * small, ReadAheadTotal: 3 * small})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				off := int64(i) * 9 * small
				r, err := s.GetRange(ctx, id, off, size-off)
				if err != nil {
					errs <- err
					return
				}
				defer r.Close()
				got, err := io.ReadAll(r)
				if err == nil && !bytes.Equal(got, data[off:]) {
					err = errors.New("content differs")
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		waitIdle(t, s)
	})
}

func TestStore_ReadAhead_ChunkMissing(t *testing.T) {
	ctx := context.Background()
	s, srv := openStore(t, filestore.Config{ChunkSize: small, ReadAhead: 8 * small})
	id, data := putSmall(t, s, 60*small+5, 22)
	deleteChunk(t, srv, id, 61, 30)

	t.Run("Whole", func(t *testing.T) {
		obj, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		got, err := io.ReadAll(obj)
		if !errors.Is(err, filestore.ErrCorrupt) {
			t.Fatalf("read: %v, want ErrCorrupt", err)
		}
		// Everything before the missing chunk is handed out, and nothing
		// from after it.
		if !bytes.Equal(got, data[:30*small]) {
			t.Fatalf("got %d bytes before the error, want the %d before chunk 30", len(got), 30*small)
		}
		waitIdle(t, s)
	})

	t.Run("RangeAcross", func(t *testing.T) {
		// No digest to catch it: only the chunk's sequence can.
		r, err := s.GetRange(ctx, id, 20*small+3, 20*small)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := io.ReadAll(r); !errors.Is(err, filestore.ErrCorrupt) {
			t.Fatalf("read: %v, want ErrCorrupt", err)
		}
		waitIdle(t, s)
	})

	t.Run("RangeBefore", func(t *testing.T) {
		r, err := s.GetRange(ctx, id, 2*small, 28*small)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, r); !bytes.Equal(got, data[2*small:30*small]) {
			t.Fatal("content differs")
		}
	})

	t.Run("RangeAfter", func(t *testing.T) {
		r, err := s.GetRange(ctx, id, 31*small, 29*small+5)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, r); !bytes.Equal(got, data[31*small:]) {
			t.Fatal("content differs")
		}
	})
}

func TestStore_ReadAhead_Release(t *testing.T) {
	s, _ := openStore(t, filestore.Config{ChunkSize: small, ReadAhead: 8 * small})
	id, data := putSmall(t, s, 100*small, 23)

	t.Run("Cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := s.GetRange(ctx, id, 0, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		head := make([]byte, 10*small+1)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatal(err)
		}
		if s.Idle() {
			t.Fatal("not reading ahead mid-read")
		}
		cancel()
		// Cancelling the read's context alone, without Close, releases
		// the read-ahead.
		waitIdle(t, s)
		// What was handed out is right; the rest fails with the cause.
		n, err := io.ReadFull(r, make([]byte, len(data)))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read after cancel: %d bytes, %v, want context.Canceled", n, err)
		}
		if !bytes.Equal(head, data[:len(head)]) {
			t.Fatal("content before cancel differs")
		}
	})

	t.Run("Close", func(t *testing.T) {
		obj, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(obj, make([]byte, 3*small)); err != nil {
			t.Fatal(err)
		}
		if err := obj.Close(); err != nil {
			t.Fatal(err)
		}
		// Close returns once every fetch has ended.
		if !s.Idle() {
			t.Fatal("read-ahead still running after Close")
		}
		if _, err := obj.Read(make([]byte, 1)); err == nil || err == io.EOF {
			t.Fatalf("read after close: %v", err)
		}
	})

	t.Run("Deleted", func(t *testing.T) {
		// An object deleted mid-read is ErrNotFound, whichever chunk the
		// read-ahead was fetching.
		id, _ := putSmall(t, s, 100*small, 24)
		obj, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if _, err := io.ReadFull(obj, make([]byte, 20*small)); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(obj); !errors.Is(err, filestore.ErrNotFound) {
			t.Fatalf("read after delete: %v, want ErrNotFound", err)
		}
		waitIdle(t, s)
	})
}

// TestStore_ReadAhead_Layout checks which reads may read ahead: those that
// know every chunk's sequence, from Put's recorded layout of an
// interleaved upload or from chunks seen to be contiguous. Without
// either, a read fetches chunk after chunk and still reads right.
func TestStore_ReadAhead_Layout(t *testing.T) {
	ctx := context.Background()
	s, srv := openStore(t, filestore.Config{ChunkSize: small, ReadAhead: 4 * small})
	a, b := random(40*small+9, 25), random(5*small, 26)
	idA := randid.New("file_")
	var errB error
	ra := &trickle{r: bytes.NewReader(a), n: small, after: 17 * small, hook: func() {
		_, errB = s.Put(ctx, randid.New("file_"), bytes.NewReader(b), -1)
	}}
	if _, err := s.Put(ctx, idA, ra, -1); err != nil || errB != nil {
		t.Fatal(err, errB)
	}
	check := func(t *testing.T, wantAhead bool) {
		for _, rg := range [][2]int64{{0, int64(len(a))}, {3*small + 1, 30 * small}} {
			before := s.ReadAheads()
			r, err := s.GetRange(ctx, idA, rg[0], rg[1])
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, r); !bytes.Equal(got, a[rg[0]:rg[0]+rg[1]]) {
				t.Fatalf("range %v: content differs", rg)
			}
			if ahead := s.ReadAheads() != before; ahead != wantAhead {
				t.Fatalf("range %v: read ahead = %v, want %v", rg, ahead, wantAhead)
			}
		}
		waitIdle(t, s)
	}
	t.Run("Recorded", func(t *testing.T) { check(t, true) })
	stripLayout(t, srv.JS, idA, idA)
	t.Run("NotRecorded", func(t *testing.T) { check(t, false) })
}

func TestStore_ReadAhead_Off(t *testing.T) {
	s, _ := openStore(t, filestore.Config{ChunkSize: small, ReadAhead: -1})
	id, data := putSmall(t, s, 30*small+1, 27)
	if got := readAll(t, mustGet(t, s, id)); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if s.ReadAheads() != 0 {
		t.Fatal("read ahead with ReadAhead < 0")
	}
}

func TestOpen_ErrChunkTooLarge(t *testing.T) {
	srv := natstest.Start(t)
	// The embedded server's max_payload is 8 MiB; a chunk needs room for
	// its headers too.
	if _, err := filestore.Open(context.Background(), srv.JS, filestore.Config{ChunkSize: 8 << 20}); err == nil {
		t.Fatal("a ChunkSize of max_payload was accepted")
	}
}
