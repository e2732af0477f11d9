package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
	"github.com/filelinks/filelinks/projections"
)

// anyFile finds every file: these tests are about links.
type anyFile struct{}

func (anyFile) LookupFile(_ context.Context, mode events.Mode, id string) (domain.File, error) {
	return domain.File{ID: id, Found: true, Mode: mode, Purpose: "dispute_evidence"}, nil
}

// newLinks returns Links over a real event log and a real read model that
// no projector follows yet: follow starts one, which waits lag before each
// batch it applies, like a projector that is behind.
func newLinks(t *testing.T) (links *Links, follow func(lag time.Duration)) {
	t.Helper()
	ctx := context.Background()
	ns := natstest.Start(t)
	log, err := eventlog.Open(ctx, ns.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reads, err := projections.Open(filepath.Join(t.TempDir(), "readmodel.db"), projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reads.Close() })
	links = &Links{
		Log: log, Reads: reads, Files: anyFile{},
		NewID: randid.New, NewToken: randid.Token, DerivedID: randid.Derived,
		ProjectionWait: 200 * time.Millisecond,
	}
	follow = func(lag time.Duration) {
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = log.Follow(fctx, reads.Checkpoint()+1, func(recs []events.Record) error {
				time.Sleep(lag)
				return reads.Apply(recs)
			}, 0, nil)
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	return links, follow
}

// A write returns without the read model; the reads after it wait for it.
func TestReadsWaitForThisProcessWrites(t *testing.T) {
	ctx := context.Background()
	links, follow := newLinks(t)
	follow(5 * time.Millisecond)
	for i := range 20 {
		in := CreateInput{Mode: events.ModeTest, FileID: "file_x", Audit: events.Audit{RequestID: "req_1"}}
		var l domain.Link
		var err error
		if i%2 == 0 {
			l, err = links.Create(ctx, in)
		} else {
			in.Audit.KeyID, in.Audit.IdempotencyKey = "key_1", randid.New("idem_")
			l, _, err = links.CreateOnce(ctx, in)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := links.Get(ctx, events.ModeTest, l.ID)
		if err != nil || got.ID != l.ID {
			t.Fatalf("get right after create %d: %+v, %v", i, got, err)
		}
		page, err := links.List(ctx, domain.ListQuery{Mode: events.ModeTest, Limit: 1})
		if err != nil || len(page.Links) != 1 || page.Links[0].ID != l.ID {
			t.Fatalf("list right after create %d: %+v, %v", i, page, err)
		}
		byToken, err := links.GetByToken(ctx, l.Token)
		if err != nil || byToken.ID != l.ID {
			t.Fatalf("token right after create %d: %+v, %v", i, byToken, err)
		}
		want := string(rune('a' + i))
		md := domain.MetadataPatch{Set: map[string]string{"n": want}}
		if _, err := links.Update(ctx, UpdateInput{Mode: events.ModeTest, LinkID: l.ID, Change: domain.UpdateLink{Metadata: md}}); err != nil {
			t.Fatal(err)
		}
		got, err = links.Get(ctx, events.ModeTest, l.ID)
		if err != nil || got.Metadata["n"] != want {
			t.Fatalf("get right after update %d: %+v, %v", i, got.Metadata, err)
		}
	}
}

// A read model that does not follow the log delays one read by
// ProjectionWait, not every read after it; once it follows, reads show the
// writes again.
func TestReadsGiveUpOnAStalledReadModel(t *testing.T) {
	ctx := context.Background()
	links, follow := newLinks(t)
	l, err := links.Create(ctx, CreateInput{Mode: events.ModeTest, FileID: "file_x"})
	if err != nil {
		t.Fatal(err)
	}
	mark := links.written.Load()
	if mark == 0 {
		t.Fatal("create did not mark its write")
	}
	if _, err := links.Get(ctx, events.ModeTest, l.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("get from a read model that follows nothing: %v", err)
	}
	if got := links.gaveUp.Load(); got != mark {
		t.Fatalf("gave up on %d, want %d", got, mark)
	}
	// A read whose own context ends first does not give the mark up.
	l2, err := links.Create(ctx, CreateInput{Mode: events.ModeTest, FileID: "file_x"})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := links.Get(cctx, events.ModeTest, l2.ID); domain.ErrorCode(err) != domain.ENOTFOUND && !errors.Is(err, context.Canceled) {
		t.Fatalf("get with a cancelled context: %v", err)
	}
	if got := links.gaveUp.Load(); got != mark {
		t.Fatalf("a cancelled read gave up on %d, want %d", got, mark)
	}
	follow(0)
	for _, id := range []string{l.ID, l2.ID} {
		if got, err := links.Get(ctx, events.ModeTest, id); err != nil || got.ID != id {
			t.Fatalf("get once the read model follows: %+v, %v", got, err)
		}
	}
}
