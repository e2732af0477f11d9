package projections

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

func TestStore_Get(t *testing.T) {
	st := newStream(t)
	exp := base.Add(time.Hour)
	st.create(events.ModeLive, "link_a", "file_1", base, &exp, map[string]string{"k": "v"})
	st.create(events.ModeTest, "link_b", "file_2", base, nil, nil)
	st.create(events.ModeLive, "link_c", "file_1", base, nil, nil)
	st.update(events.ModeLive, "link_a", base.Add(time.Minute), domain.UpdateLink{
		Metadata: domain.MetadataPatch{Set: map[string]string{"k": "", "x": "y"}},
	})
	st.delete(events.ModeLive, "link_c", base.Add(time.Minute))
	s, _ := openStore(t, Options{})
	applyAll(t, s, st.recs, 500)

	t.Run("OK", func(t *testing.T) {
		got, err := s.Get(events.ModeLive, "link_a")
		if err != nil {
			t.Fatal(err)
		}
		if want := st.get(events.ModeLive, "link_a").Link; !sameLink(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
		if got.Version != 2 || got.Metadata["x"] != "y" || len(got.Metadata) != 1 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("ByToken", func(t *testing.T) {
		// In either mode, the link the token names.
		for _, c := range []struct {
			mode events.Mode
			id   string
		}{{events.ModeTest, "link_b"}, {events.ModeLive, "link_a"}} {
			want := st.get(c.mode, c.id).Link
			got, err := s.GetByToken(want.Token)
			if err != nil {
				t.Fatal(err)
			}
			if !sameLink(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		}
	})
	notFound := func(t *testing.T, err error, param string) {
		t.Helper()
		code, reason, p := errCode(err)
		if code != domain.ENOTFOUND || reason != domain.ReasonLinkNotFound || p != param {
			t.Errorf("err = %v, want ENOTFOUND link_not_found param %q", err, param)
		}
	}
	t.Run("ErrOtherMode", func(t *testing.T) {
		_, err := s.Get(events.ModeTest, "link_a")
		notFound(t, err, "id")
		if e := domain.AsError(err); e == nil || e.Message != "No such file link: 'link_a'" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrMissing", func(t *testing.T) {
		_, err := s.Get(events.ModeLive, "link_nope")
		notFound(t, err, "id")
		for _, tok := range []string{
			"tok_nope",
			testToken(events.ModeLive, "link_nope"),
			testToken(events.ModeLive, "link_nopf"),
			// link_a's id with another secret, and link_b's secret naming link_a
			domain.LinkToken("link_a", secretOf(testToken(events.ModeLive, "link_b"))),
			domain.LinkToken("link_a", secretOf(st.get(events.ModeTest, "link_b").Link.Token)),
			// link_a's secret alone, which names no link
			secretOf(st.get(events.ModeLive, "link_a").Link.Token),
		} {
			_, err = s.GetByToken(tok)
			notFound(t, err, "")
		}
		_, err = s.GetByToken("")
		notFound(t, err, "")
	})
	t.Run("ErrDeleted", func(t *testing.T) {
		_, err := s.Get(events.ModeLive, "link_c")
		notFound(t, err, "id")
		_, err = s.GetByToken(testToken(events.ModeLive, "link_c"))
		notFound(t, err, "")
		if e := domain.AsError(err); e == nil || e.Message != "No such file link." {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrMode", func(t *testing.T) {
		if _, err := s.Get("staging", "link_a"); !errors.Is(err, ErrMode) {
			t.Errorf("err = %v, want ErrMode", err)
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		s2, _ := openStore(t, Options{})
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Get(events.ModeLive, "link_a"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get err = %v, want ErrClosed", err)
		}
		if err := s2.Apply(st.recs); !errors.Is(err, ErrClosed) {
			t.Errorf("Apply err = %v, want ErrClosed", err)
		}
		if err := s2.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// The subtests of TestStore_WaitFor know that a WaitFor is waiting when it
// hurries (Store.Hurry), which it does each time before it waits: no
// sleep, no deadline.
func TestStore_WaitFor(t *testing.T) {
	st := newStream(t)
	st.create(events.ModeLive, "link_a", "file_1", base, nil, nil)
	st.create(events.ModeLive, "link_b", "file_1", base, nil, nil)

	t.Run("OK", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		done := make(chan error, 1)
		go func() { done <- s.WaitFor(context.Background(), 2) }()
		<-s.Hurry() // waiting at checkpoint 0
		if err := s.Apply(st.recs[:1]); err != nil {
			t.Fatal(err)
		}
		// Woken by the commit, it either returns or waits again.
		select {
		case err := <-done:
			t.Fatalf("WaitFor(2) returned %v at checkpoint 1", err)
		case <-s.Hurry():
		}
		if err := s.Apply(st.recs[1:]); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := s.WaitFor(context.Background(), 1); err != nil {
			t.Errorf("WaitFor of an applied seq: %v", err)
		}
	})
	t.Run("Hurry", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		select {
		case <-s.Hurry():
			t.Fatal("hurry with nobody waiting")
		default:
		}
		if err := s.WaitFor(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.Hurry():
			t.Fatal("hurry from a WaitFor that did not wait")
		default:
		}
		done := make(chan error, 1)
		go func() { done <- s.WaitFor(context.Background(), 2) }()
		// Each wait hurries once: after the first batch, WaitFor waits
		// again and hurries again.
		for _, recs := range [][]events.Record{st.recs[:1], st.recs[1:]} {
			<-s.Hurry()
			if err := s.Apply(recs); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.WaitFor(ctx, 1) }()
		<-s.Hurry()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want Canceled", err)
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		s, _ := openStore(t, Options{})
		done := make(chan error, 1)
		go func() { done <- s.WaitFor(context.Background(), 1) }()
		<-s.Hurry()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("err = %v, want ErrClosed", err)
		}
	})
}

func TestOpen(t *testing.T) {
	t.Run("ErrLocked", func(t *testing.T) {
		_, path := openStore(t, Options{})
		s2, err := Open(path, Options{Timeout: 50 * time.Millisecond})
		if err == nil {
			_ = s2.Close()
			t.Fatal("second Open of an open file succeeded")
		}
		// The error says that it gave up after the timeout it was given.
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "no lock after 50ms") {
			t.Errorf("err = %v, want ErrLocked after 50ms", err)
		}
	})
	t.Run("ErrSchema", func(t *testing.T) {
		s, path := openStore(t, Options{})
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, seqKey(schemaVersion+1))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s2, err := Open(path, Options{}); !errors.Is(err, ErrSchema) {
			if err == nil {
				_ = s2.Close()
			}
			t.Errorf("err = %v, want ErrSchema", err)
		}
		// With DiscardOtherSchema the file starts again, empty.
		s2, err := Open(path, Options{DiscardOtherSchema: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if s2.Checkpoint() != 0 {
			t.Errorf("Checkpoint() = %d after discarding the file, want 0", s2.Checkpoint())
		}
	})
}

// secretOf returns the secret of a token, after the link id and the dot.
func secretOf(token string) string { return token[strings.LastIndexByte(token, '.')+1:] }
