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

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/idemstore"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// testStore is a store on its own embedded server, with the clock it
// reads and the bucket it writes.
type testStore struct {
	*idemstore.Store
	clock *clock
	kv    jetstream.KeyValue
}

// openStore opens a store whose clock stands still at the time it was
// opened, unless the test sets it: no lease runs out on its own, however
// slow the machine.
func openStore(t testing.TB, cfg idemstore.Config) *testStore {
	t.Helper()
	ctx := context.Background()
	srv := natstest.Start(t)
	clk := &clock{t: time.Now()}
	cfg.Now = clk.Now
	s, err := idemstore.Open(ctx, srv.JS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bucket := cfg.Bucket
	if bucket == "" {
		bucket = "FILELINKS_IDEMPOTENCY"
	}
	kv, err := srv.JS.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return &testStore{Store: s, clock: clk, kv: kv}
}

// written returns the server's timestamp of the last write of the record
// of (scope, key), from which its lease is measured.
func (s *testStore) written(t testing.TB, scope, key string) time.Time {
	t.Helper()
	e, err := s.kv.Get(context.Background(), idemstore.KVKey(scope, key))
	if err != nil {
		t.Fatal(err)
	}
	return e.Created()
}

// clock is a store's clock, set by the test. A lease is measured from the
// server's timestamp of the record's last write (testStore.written), so a
// test sets the clock relative to it: the lease runs out at the exact
// instant the test chooses, not after a sleep that a busy machine may
// stretch.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// lease is the lease of the stores in the takeover tests; its length does
// not matter, as the tests set the clock.
const lease = time.Minute

const scope = "key_test_1"

func begin(t testing.TB, s *testStore, scope, key, fp string) *idemstore.Claim {
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
		at := s.written(t, scope, key)
		s.clock.Set(at.Add(lease - time.Nanosecond))
		if _, err := s.Begin(ctx, scope, key, "fp"); !errors.Is(err, idemstore.ErrInUse) {
			t.Fatalf("within the lease: %v", err)
		}
		// The owner died. Racers that read the winner's record, written
		// after this instant, find it within its lease.
		s.clock.Set(at.Add(lease))
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
		s.clock.Set(s.written(t, scope, key).Add(lease))
		taker := begin(t, s, scope, key, "fp")
		if err := s.Abandon(ctx, stale); !errors.Is(err, idemstore.ErrLeaseLost) {
			t.Fatalf("stale abandon: %v", err)
		}
		if err := s.Complete(ctx, taker, resp); err != nil {
			t.Fatalf("the taker's record after a stale abandon: %v", err)
		}
	})
}

func TestStore_Renew(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, idemstore.Config{Lease: lease})
	key := randid.New("k_")
	c := begin(t, s, scope, key, "fp")
	begun := s.written(t, scope, key)
	if err := s.Renew(ctx, c); err != nil {
		t.Fatal(err)
	}
	renewed := s.written(t, scope, key)
	if !renewed.After(begun) {
		t.Fatalf("renewed at %s, begun at %s: the lease did not restart", renewed, begun)
	}
	// The lease taken at Begin has run out, the renewed one has not.
	s.clock.Set(begun.Add(lease))
	if _, err := s.Begin(ctx, scope, key, "fp"); !errors.Is(err, idemstore.ErrInUse) {
		t.Fatalf("after renew: %v", err)
	}
	// Without another renewal the lease runs out.
	s.clock.Set(renewed.Add(lease))
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
