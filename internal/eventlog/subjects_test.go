package eventlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/eventlog"
	"github.com/filelinks/filelinks/internal/natstest"
	"github.com/filelinks/filelinks/internal/randid"
)

// subjectsOf returns the subjects of the stream's messages on filter, in
// order.
func subjectsOf(t *testing.T, srv *natstest.Server, filter string) []string {
	t.Helper()
	ctx := context.Background()
	st, err := srv.JS.Stream(ctx, "FILELINKS_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := uint64(1); ; {
		msg, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg.Subject)
		seq = msg.Sequence + 1
	}
}

// TestLog_Classes: in a new stream each event goes to its link's subject of
// its class, and the link is still one unit: Load and History read across
// both subjects, and the optimistic check of an append covers both.
func TestLog_Classes(t *testing.T) {
	ctx := context.Background()
	l, srv := openLog(t)
	id := randid.New("link_")
	_, created, err := l.Create(ctx, events.ModeTest, id, decider(createCmd(id), t0))
	if err != nil {
		t.Fatal(err)
	}
	// Metadata only: class other, on the same subject as the create.
	meta := domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"k": "v"}}}
	if _, _, err := l.Update(ctx, events.ModeTest, id, decider(meta, t0)); err != nil {
		t.Fatal(err)
	}
	// An append that read the link before the metadata change conflicts,
	// though its event (setting an expiry) goes to the other subject.
	stale, _ := decider(domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(48 * time.Hour)}, t0)(domain.Link{ID: id, Mode: events.ModeTest, Version: 1})
	if _, err := l.Append(ctx, created, stale); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("stale append: err = %v, want ErrConflict", err)
	}
	change, last, err := l.Update(ctx, events.ModeTest, id, decider(domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(48 * time.Hour)}, t0))
	if err != nil {
		t.Fatal(err)
	}
	if link := change.After(); link.Version != 3 || link.ExpiresAt == nil || change.Before.Version != 2 || len(change.Events) != 1 {
		t.Fatalf("the expiry update: before %+v, %d events, after %+v", change.Before, len(change.Events), link)
	}
	base := events.Subject(events.ModeTest, id)
	got := subjectsOf(t, srv, events.LinkFilter(events.ModeTest, id))
	want := []string{base + ".other", base + ".other", base + ".expiry"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("subjects %v, want %v", got, want)
	}
	loaded, seq, err := l.Load(ctx, events.ModeTest, id)
	if err != nil || seq != last || loaded.Version != 3 {
		t.Fatalf("load: %+v at %d, %v; want version 3 at %d", loaded, seq, err, last)
	}
	hist, err := l.History(ctx, events.ModeTest, id)
	if err != nil || len(hist) != 3 || hist[2].Version != 3 {
		t.Fatalf("history: %d events, %v", len(hist), err)
	}
	if first, _, ok, err := l.First(ctx, events.ModeTest, id); err != nil || !ok || first.Version != 1 {
		t.Fatalf("first: %+v %v %v", first, ok, err)
	}
	if n, err := l.LastSequenceOf(ctx, events.SubjectsExpiry); err != nil || n != last {
		t.Fatalf("last of class expiry: %d %v, want %d", n, err, last)
	}
	if got := subjectsOf(t, srv, base); len(got) != 0 {
		t.Fatalf("events on the stem subject without a class: %v", got)
	}
}
