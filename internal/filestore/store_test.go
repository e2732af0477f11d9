package filestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/filestore"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// chunk is the default ChunkSize.
const chunk = 512 << 10

func openStore(t testing.TB, cfg filestore.Config) (*filestore.Store, *natstest.Server) {
	t.Helper()
	srv := natstest.Start(t)
	s, err := filestore.Open(context.Background(), srv.JS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

// random returns n reproducible pseudo-random bytes.
func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func readAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamMsgs is the number of messages in the bucket's stream: chunks and
// descriptions.
func streamMsgs(t testing.TB, js jetstream.JetStream, bucket string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), "OBJ_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestStore_Put(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, filestore.Config{})

	for _, tc := range []struct {
		name string
		size int
	}{
		{"Empty", 0},
		{"OneByte", 1},
		{"OneChunk", chunk},
		{"ChunkPlusOne", chunk + 1},
		{"TenMiB", 10<<20 + 12345},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := random(tc.size, uint64(tc.size))
			id := randid.New("file_")
			c, err := s.Put(ctx, id, bytes.NewReader(data), int64(tc.size))
			if err != nil {
				t.Fatal(err)
			}
			if c.Size != int64(tc.size) || c.SHA256 != sha(data) {
				t.Fatalf("put = %+v, want size %d sha %s", c, tc.size, sha(data))
			}
			obj, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if obj.Size != int64(tc.size) || obj.SHA256 != c.SHA256 {
				t.Fatalf("get: size %d sha %s, want %d %s", obj.Size, obj.SHA256, tc.size, c.SHA256)
			}
			if got := readAll(t, obj); !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes (sha %s), want %d (sha %s)", len(got), sha(got), len(data), sha(data))
			}
		})
	}

	t.Run("ShortReads", func(t *testing.T) {
		// A request body hands out a few KiB per Read; chunks must still
		// be full for range reads to compute where a byte is.
		data := random(3*chunk+777, 7)
		id := randid.New("file_")
		if _, err := s.Put(ctx, id, &trickle{r: bytes.NewReader(data), n: 1000}, -1); err != nil {
			t.Fatal(err)
		}
		before := s.Scans()
		r, err := s.GetRange(ctx, id, 2*chunk+5, chunk)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, r); !bytes.Equal(got, data[2*chunk+5:3*chunk+5]) {
			t.Fatal("range of a trickled upload differs")
		}
		if s.Scans() != before {
			t.Fatal("range read scanned although chunks are full and contiguous")
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		for _, size := range []int{1001, 3*chunk + 1} {
			s, srv := openStore(t, filestore.Config{Bucket: "TOO_LARGE"})
			id := randid.New("file_")
			_, err := s.Put(ctx, id, bytes.NewReader(random(size, 1)), int64(size-1))
			if !errors.Is(err, filestore.ErrTooLarge) {
				t.Fatalf("size %d: err = %v, want ErrTooLarge", size, err)
			}
			if _, err := s.Get(ctx, id); !errors.Is(err, filestore.ErrNotFound) {
				t.Fatalf("size %d: get after ErrTooLarge: %v", size, err)
			}
			if n := streamMsgs(t, srv.JS, "TOO_LARGE"); n != 0 {
				t.Fatalf("size %d: %d messages left in the bucket", size, n)
			}
		}
	})

	t.Run("ExactlyTheLimit", func(t *testing.T) {
		data := random(2*chunk, 2)
		if c, err := s.Put(ctx, randid.New("file_"), bytes.NewReader(data), int64(len(data))); err != nil || c.Size != int64(len(data)) {
			t.Fatalf("put = %+v, %v", c, err)
		}
	})

	t.Run("ErrReader", func(t *testing.T) {
		s, srv := openStore(t, filestore.Config{Bucket: "ERR_READER"})
		boom := errors.New("client went away")
		r := io.MultiReader(bytes.NewReader(random(2*chunk+10, 3)), iotestErr{boom})
		id := randid.New("file_")
		if _, err := s.Put(ctx, id, r, -1); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
		if n := streamMsgs(t, srv.JS, "ERR_READER"); n != 0 {
			t.Fatalf("%d messages left in the bucket", n)
		}
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		s, srv := openStore(t, filestore.Config{Bucket: "CANCELED"})
		cctx, cancel := context.WithCancel(ctx)
		r := &trickle{r: bytes.NewReader(random(4*chunk, 4)), n: chunk, after: 2 * chunk, hook: cancel}
		if _, err := s.Put(cctx, randid.New("file_"), r, -1); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := streamMsgs(t, srv.JS, "CANCELED"); n != 0 {
			t.Fatalf("%d messages left in the bucket", n)
		}
	})
}

func TestStore_Put_ContentType(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, filestore.Config{})
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), random(2000, 5)...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"PNG", png, "image/png"},
		{"PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"), "application/pdf"},
		{"HTML", []byte("<!DOCTYPE html>\n<html><head><title>x</title></head><body>hi</body></html>\n"), "text/html; charset=utf-8"},
		{"Text", []byte("hello, world\n"), "text/plain; charset=utf-8"},
		{"Empty", nil, "text/plain; charset=utf-8"},
		// Only the first 512 bytes count: a binary tail is not looked at.
		{"HTMLLongBinaryTail", append([]byte("<html><body>"), random(3*chunk, 6)...), "text/html; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Put(ctx, randid.New("file_"), bytes.NewReader(tc.data), -1)
			if err != nil {
				t.Fatal(err)
			}
			if c.ContentType != tc.want {
				t.Fatalf("content type %q, want %q", c.ContentType, tc.want)
			}
		})
	}
}

func TestStore_Get(t *testing.T) {
	ctx := context.Background()
	s, srv := openStore(t, filestore.Config{})

	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := s.Get(ctx, "file_missing"); !errors.Is(err, filestore.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
		if _, err := s.GetRange(ctx, "file_missing", 0, 1); !errors.Is(err, filestore.ErrNotFound) {
			t.Fatalf("get range: %v", err)
		}
		if err := s.Delete(ctx, "file_missing"); !errors.Is(err, filestore.ErrNotFound) {
			t.Fatalf("delete: %v", err)
		}
	})

	t.Run("Deleted", func(t *testing.T) {
		id := randid.New("file_")
		if _, err := s.Put(ctx, id, strings.NewReader("bye"), -1); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, id); !errors.Is(err, filestore.ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
	})

	t.Run("ChunkMissing", func(t *testing.T) {
		id := randid.New("file_")
		if _, err := s.Put(ctx, id, bytes.NewReader(random(4*chunk+100, 13)), -1); err != nil {
			t.Fatal(err)
		}
		st, err := srv.JS.Stream(ctx, "OBJ_FILELINKS_FILES")
		if err != nil {
			t.Fatal(err)
		}
		meta, err := st.GetLastMsgForSubject(ctx, "$O.FILELINKS_FILES.M."+base64.URLEncoding.EncodeToString([]byte(id)))
		if err != nil {
			t.Fatal(err)
		}
		// Chunks 0-4 are the five sequences before the description.
		if err := st.DeleteMsg(ctx, meta.Sequence-5+2); err != nil {
			t.Fatal(err)
		}
		obj, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if _, err := io.ReadAll(obj); !errors.Is(err, filestore.ErrCorrupt) {
			t.Fatalf("whole read: %v, want ErrCorrupt", err)
		}
		if _, err := s.GetRange(ctx, id, 2*chunk+1, 10); !errors.Is(err, filestore.ErrCorrupt) {
			t.Fatalf("range in the missing chunk: %v, want ErrCorrupt", err)
		}
	})

	t.Run("SlowReader", func(t *testing.T) {
		// The object store's own Get bounds the whole read by the client's
		// default timeout when ctx has no deadline; a download to a slow
		// client must not be.
		js, err := jetstream.New(srv.Conn, jetstream.WithDefaultTimeout(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		s, err := filestore.Open(ctx, js, filestore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		data := random(3*chunk, 12)
		id := randid.New("file_")
		if _, err := s.Put(ctx, id, bytes.NewReader(data), -1); err != nil {
			t.Fatal(err)
		}
		obj, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, chunk+1)
		if _, err := io.ReadFull(obj, head); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if got := append(head, readAll(t, obj)...); !bytes.Equal(got, data) {
			t.Fatal("content differs")
		}
	})

	t.Run("ErrCorrupt", func(t *testing.T) {
		// Record another digest for the object, as a bit flip in storage
		// would look to a reader.
		id := randid.New("file_")
		if _, err := s.Put(ctx, id, bytes.NewReader(random(2*chunk, 8)), -1); err != nil {
			t.Fatal(err)
		}
		obs, err := srv.JS.ObjectStore(ctx, "FILELINKS_FILES")
		if err != nil {
			t.Fatal(err)
		}
		info, err := obs.GetInfo(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("something else"))
		info.Digest = "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
		publishMeta(t, srv.JS, info)
		obj, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if _, err := io.ReadAll(obj); !errors.Is(err, filestore.ErrCorrupt) {
			t.Fatalf("read: %v, want ErrCorrupt", err)
		}
	})
}

// trickle hands out at most n bytes per Read and calls hook once after
// `after` bytes.
type trickle struct {
	r     io.Reader
	n     int
	after int
	hook  func()
	done  int
}

func (t *trickle) Read(p []byte) (int, error) {
	if t.hook != nil && t.done >= t.after {
		t.hook()
		t.hook = nil
	}
	n, err := t.r.Read(p[:min(len(p), t.n)])
	t.done += n
	return n, err
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// publishMeta replaces an object's description, as the object store does.
func publishMeta(t testing.TB, js jetstream.JetStream, info *jetstream.ObjectInfo) {
	t.Helper()
	data, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	subj := "$O." + info.Bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(info.Name))
	if _, err := js.Publish(context.Background(), subj, data); err != nil {
		t.Fatal(err)
	}
}
