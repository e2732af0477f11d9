package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
	"github.com/filelinks/filelinks/projections"
)

// TestRun follows a real stream on its own: -once catches up, a second run
// resumes from the checkpoint, and -verify finds the read model equal to a
// rebuild from sequence 1.
func TestRun(t *testing.T) {
	srv := natstest.Start(t)
	ctx := context.Background()
	log, err := eventlog.Open(ctx, srv.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	create := func(n int) {
		for i := 0; i < n; i++ {
			id := randid.New("link_")
			_, _, err := log.Create(ctx, events.ModeTest, id, func(st domain.Link) ([]events.Event, error) {
				now := time.Now().UTC()
				p, err := domain.Decide(st, domain.CreateLink{Mode: events.ModeTest, LinkID: id, Token: randid.Token(),
					File: domain.File{ID: "file_1", Found: true, Mode: events.ModeTest, Purpose: "dispute_evidence"}}, now)
				if err != nil {
					return nil, err
				}
				evs, _ := domain.Seal(id, events.ModeTest, st, p, now, events.Audit{Actor: "test"}, []string{randid.New("evt_")})
				return evs, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	env := map[string]string{"FILELINKS_NATS_URL": srv.ClientURL(), "FILELINKS_DATA_DIR": dir}
	getenv := func(k string) string { return env[k] }
	runOnce := func(args ...string) string {
		var out, errOut bytes.Buffer
		if err := run(ctx, append([]string{"projector"}, args...), getenv, &out, &errOut); err != nil {
			t.Fatalf("run %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	create(30)
	if out := runOnce("-once"); !strings.Contains(out, "caught up at sequence 30") {
		t.Fatalf("first run: %q", out)
	}
	create(12)
	if out := runOnce("-once"); !strings.Contains(out, "caught up at sequence 42") {
		t.Fatalf("second run: %q", out)
	}
	if out := runOnce("-verify"); !strings.Contains(out, "equals a rebuild of sequences 1..42") {
		t.Fatalf("verify: %q", out)
	}
	s, err := projections.Open(dir+"/readmodel.db", projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page, err := s.List(domain.ListQuery{Mode: events.ModeTest, Limit: 100, Now: time.Now()})
	if err != nil || len(page.Links) != 42 {
		t.Fatalf("read model lists %d links, %v", len(page.Links), err)
	}
	if err := run(ctx, []string{"projector"}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("ran without FILELINKS_NATS_URL")
	}
}
