package idemstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filelinks/filelinks/internal/idemstore"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

func openStore(t testing.TB, cfg idemstore.Config) *idemstore.Store {
	t.Helper()
	srv := natstest.Start(t)
	s, err := idemstore.Open(context.Background(), srv.JS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lease is the lease of the stores in the takeover tests, which run on the
// real clock: the lease is measured from the server's timestamp of the
// record's last write.
const lease = 500 * time.Millisecond

const scope = "key_test_1"

func begin(t testing.TB, s *idemstore.Store, scope, key, fp string) *idemstore.Claim {
	t.Helper()
	out, err := s.Begin(context.Background(), scope, key, fp)
	if err != nil {
		t.Fatalf("begin %q: %v", key, err)
	}
	if out.Claim == nil || out.Replay != nil {
		t.Fatalf("begin %q = %+v, want a claim", key, out)
	}
	return out.Claim
}

func TestStore_Begin(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, idemstore.Config{})
	resp := idemstore.Response{Status: 200, ContentType: "application/json", Body: []byte("{\"id\":\"link_1\"}\n\x00\xff"), RequestID: "req_abc"}

	t.Run("OK", func(t *testing.T) {
		key := randid.New("k_")
		c := begin(t, s, scope, key, "fp1")
		if err := s.Complete(ctx, c, resp); err != nil {
			t.Fatal(err)
		}
		out, err := s.Begin(ctx, scope, key, "fp1")
		if err != nil {
			t.Fatal(err)
		}
		if out.Claim != nil || out.Replay == nil {
			t.Fatalf("second begin = %+v, want a replay", out)
		}
		r := *out.Replay
		if r.Status != resp.Status || r.ContentType != resp.ContentType || r.RequestID != resp.RequestID || !bytes.Equal(r.Body, resp.Body) {
			t.Fatalf("replay = %+v, want %+v", r, resp)
		}
	})

	t.Run("ErrMismatch", func(t *testing.T) {
		key := randid.New("k_")
		c := begin(t, s, scope, key, "fp1")
		if _, err := s.Begin(ctx, scope, key, "fp2"); !errors.Is(err, idemstore.ErrMismatch) {
			t.Fatalf("in progress, other fingerprint: %v", err)
		}
		if err := s.Complete(ctx, c, resp); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Begin(ctx, scope, key, "fp2"); !errors.Is(err, idemstore.ErrMismatch) {
			t.Fatalf("done, other fingerprint: %v", err)
		}
	})

	t.Run("ErrInUse", func(t *testing.T) {
		key := randid.New("k_")
		var claims, inUse atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				out, err := s.Begin(ctx, scope, key, "fp")
				switch {
				case err == nil && out.Claim != nil:
					claims.Add(1)
				case errors.Is(err, idemstore.ErrInUse):
					inUse.Add(1)
				default:
					t.Errorf("begin: %+v, %v", out, err)
				}
			})
		}
		wg.Wait()
		if claims.Load() != 1 || inUse.Load() != 19 {
			t.Fatalf("%d claims and %d in use, want 1 and 19", claims.Load(), inUse.Load())
		}
	})

	t.Run("Abandon", func(t *testing.T) {
		key := randid.New("k_")
		c := begin(t, s, scope, key, "fp1")
		if err := s.Abandon(ctx, c); err != nil {
			t.Fatal(err)
		}
		// Nothing was kept: the key is free, even for other parameters.
		c2 := begin(t, s, scope, key, "fp2")
		if err := s.Complete(ctx, c2, resp); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, c2, resp); err == nil {
			t.Fatal("second complete of a claim succeeded")
		}
	})

	t.Run("Keys", func(t *testing.T) {
		for _, key := range []string{
			"ключ/🔑/..",
			"a/b/c",
			"...",
			"*.>",
			"with space\tand\nnewline",
			"nul\x00byte",
			"\xff\xfe invalid utf-8",
			strings.Repeat("x", idemstore.MaxKeyLength),
			strings.Repeat("é", idemstore.MaxKeyLength),
		} {
			c := begin(t, s, scope, key, "fp")
			if err := s.Complete(ctx, c, resp); err != nil {
				t.Fatalf("complete %q: %v", key, err)
			}
			if out, err := s.Begin(ctx, scope, key, "fp"); err != nil || out.Replay == nil {
				t.Fatalf("replay %q: %+v, %v", key, out, err)
			}
		}
	})

	t.Run("ErrInvalidKey", func(t *testing.T) {
		for _, tc := range [][2]string{{scope, ""}, {scope, strings.Repeat("x", idemstore.MaxKeyLength+1)}, {"", "k"}} {
			if _, err := s.Begin(ctx, tc[0], tc[1], "fp"); !errors.Is(err, idemstore.ErrInvalidKey) {
				t.Errorf("scope %q key of %d bytes: %v", tc[0], len(tc[1]), err)
			}
		}
	})

	t.Run("Scopes", func(t *testing.T) {
		key := randid.New("k_")
		a := begin(t, s, "acct_a", key, "fp-a")
		b := begin(t, s, "acct_b", key, "fp-b")
		// A scope that ends where a key begins is still another scope.
		c := begin(t, s, "acct_a"+key[:2], key[2:], "fp-c")
		for _, cl := range []*idemstore.Claim{a, b, c} {
			if err := s.Complete(ctx, cl, resp); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("ErrResponseTooLarge", func(t *testing.T) {
		key := randid.New("k_")
		c := begin(t, s, scope, key, "fp")
		big := idemstore.Response{Status: 200, Body: make([]byte, 256<<10+1)}
		if err := s.Complete(ctx, c, big); !errors.Is(err, idemstore.ErrResponseTooLarge) {
			t.Fatalf("complete: %v", err)
		}
		// Nothing kept: a retry runs again.
		c2 := begin(t, s, scope, key, "fp")
		big.Body = big.Body[:256<<10]
		if err := s.Complete(ctx, c2, big); err != nil {
			t.Fatalf("complete at the limit: %v", err)
		}
		if out, err := s.Begin(ctx, scope, key, "fp"); err != nil || out.Replay == nil || len(out.Replay.Body) != 256<<10 {
			t.Fatalf("replay at the limit: %v", err)
		}
	})
}

func TestStore_Begin_TakeOver(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, idemstore.Config{Lease: lease})
	resp := idemstore.Response{Status: 201, ContentType: "application/json", Body: []byte("{}"), RequestID: "req_new"}

	t.Run("TakeOver", func(t *testing.T) {
		key := randid.New("k_")
		stale := begin(t, s, scope, key, "fp")
		if _, err := s.Begin(ctx, scope, key, "fp"); !errors.Is(err, idemstore.ErrInUse) {
			t.Fatalf("within the lease: %v", err)
		}
		time.Sleep(lease + 100*time.Millisecond) // the owner died
		var mu sync.Mutex
		var winners []*idemstore.Claim
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				out, err := s.Begin(ctx, scope, key, "fp")
				if err == nil && out.Claim != nil {
					mu.Lock()
					winners = append(winners, out.Claim)
					mu.Unlock()
				} else if !errors.Is(err, idemstore.ErrInUse) {
					t.Errorf("begin: %+v, %v", out, err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%d racers took the key over, want 1", len(winners))
		}
		// The stale owner wakes up: it can neither store nor delete.
		if err := s.Complete(ctx, stale, idemstore.Response{Status: 500}); !errors.Is(err, idemstore.ErrLeaseLost) {
			t.Fatalf("stale complete: %v", err)
		}
		if _, err := s.Begin(ctx, scope, key, "fp"); !errors.Is(err, idemstore.ErrInUse) {
			t.Fatalf("the winner's record after a stale complete: %v", err)
		}
		if err := s.Complete(ctx, winners[0], resp); err != nil {
			t.Fatal(err)
		}
		out, err := s.Begin(ctx, scope, key, "fp")
		if err != nil || out.Replay == nil || out.Replay.RequestID != resp.RequestID {
			t.Fatalf("after takeover: %+v, %v", out, err)
		}
	})

	t.Run("StaleAbandon", func(t *testing.T) {
		key := randid.New("k_")
		stale := begin(t, s, scope, key, "fp")
		time.Sleep(lease + 100*time.Millisecond)
		taker := begin(t, s, scope, key, "fp")
		if err := s.Abandon(ctx, stale); !errors.Is(err, idemstore.ErrLeaseLost) {
			t.Fatalf("stale abandon: %v", err)
		}
		if err := s.Complete(ctx, taker, resp); err != nil {
			t.Fatalf("the taker's record after a stale abandon: %v", err)
		}
	})
}

// TestStore_Renew runs on the real clock: the lease is measured from the
// server's timestamp of the record's last write.
func TestStore_Renew(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, idemstore.Config{Lease: time.Second})
	key := randid.New("k_")
	c := begin(t, s, scope, key, "fp")
	time.Sleep(700 * time.Millisecond)
	if err := s.Renew(ctx, c); err != nil {
		t.Fatal(err)
	}
	// 1.4s after Begin but 0.7s after Renew: still held.
	time.Sleep(700 * time.Millisecond)
	if _, err := s.Begin(ctx, scope, key, "fp"); !errors.Is(err, idemstore.ErrInUse) {
		t.Fatalf("after renew: %v", err)
	}
	// Without a renewal the lease runs out.
	time.Sleep(1100 * time.Millisecond)
	taker := begin(t, s, scope, key, "fp")
	if err := s.Renew(ctx, c); !errors.Is(err, idemstore.ErrLeaseLost) {
		t.Fatalf("renew after takeover: %v", err)
	}
	if err := s.Complete(ctx, taker, idemstore.Response{Status: 200}); err != nil {
		t.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)

	t.Run("Defaults", func(t *testing.T) {
		if _, err := idemstore.Open(ctx, srv.JS, idemstore.Config{}); err != nil {
			t.Fatal(err)
		}
		kv, err := srv.JS.KeyValue(ctx, "FILELINKS_IDEMPOTENCY")
		if err != nil {
			t.Fatal(err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.TTL() != 24*time.Hour || st.History() != 1 || st.BackingStore() != "JetStream" {
			t.Fatalf("bucket: ttl %s history %d", st.TTL(), st.History())
		}
	})

	t.Run("MaxBodyTooLarge", func(t *testing.T) {
		if _, err := idemstore.Open(ctx, srv.JS, idemstore.Config{Bucket: "BIG", MaxBody: 64 << 20}); err == nil {
			t.Fatal("a MaxBody above the server's max_payload was accepted")
		}
	})
}
