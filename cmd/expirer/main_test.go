package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRun starts the standalone expirer against a NATS server, makes a link
// due in about a second and sees it expired, then stops it with the
// context, as a signal would.
func TestRun(t *testing.T) {
	srv := natstest.Start(t)
	env := map[string]string{
		"FILELINKS_NATS_URL":     srv.ClientURL(),
		"FILELINKS_DATA_DIR":     t.TempDir(),
		"FILELINKS_EXPIRER_NAME": "standalone",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, logs) }()

	log, err := eventlog.Open(ctx, srv.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	id := randid.New("link_")
	_, _, err = log.Create(ctx, events.ModeTest, id, func(state domain.Link) ([]events.Event, error) {
		now := time.Now().UTC()
		// Taken from the decision's own now, so that however long the
		// test took to get here the deadline is still ahead.
		deadline := now.Truncate(time.Second).Add(2 * time.Second)
		p, err := domain.Decide(state, domain.CreateLink{
			Mode: events.ModeTest, LinkID: id, Token: randid.Token(), ExpiresAt: &deadline,
			File: domain.File{ID: "file_1", Found: true, Mode: events.ModeTest, Purpose: "dispute_evidence"},
		}, now)
		if err != nil {
			return nil, err
		}
		evs, _ := domain.Seal(id, events.ModeTest, state, p, now, events.Audit{Actor: "test"}, []string{randid.New("evt_")})
		return evs, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	limit := time.Now().Add(20 * time.Second)
	for {
		link, _, err := log.Load(ctx, events.ModeTest, id)
		if err != nil {
			t.Fatal(err)
		}
		if link.ExpiredAt != nil {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("link not expired; logs:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the context ended")
	}
	if out := logs.String(); !strings.Contains(out, "expirer started") || !strings.Contains(out, "expirer stopped") {
		t.Fatalf("logs:\n%s", out)
	}
}

func TestRun_Config(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"NoNATSURL": {map[string]string{"FILELINKS_DATA_DIR": t.TempDir()}, "FILELINKS_NATS_URL"},
		"BadName": {map[string]string{"FILELINKS_DATA_DIR": t.TempDir(), "FILELINKS_NATS_URL": natstest.Start(t).ClientURL(),
			"FILELINKS_EXPIRER_NAME": "a.b"}, "name"},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), nil, func(k string) string { return tc.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
