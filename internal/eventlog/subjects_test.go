package eventlog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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
	if l.Legacy() {
		t.Fatal("a new stream is legacy")
	}
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
	link, last, err := l.Update(ctx, events.ModeTest, id, decider(domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(48 * time.Hour)}, t0))
	if err != nil {
		t.Fatal(err)
	}
	if link.Version != 3 || link.ExpiresAt == nil {
		t.Fatalf("after the expiry update: %+v", link)
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
	if n, err := l.LastSequenceOf(ctx, events.SubjectsLegacy); err != nil || n != 0 {
		t.Fatalf("last legacy: %d %v, want 0", n, err)
	}
}

// TestLog_Legacy: a stream that holds events on subjects without a class
// token is written that way for good, old links and new ones alike.
func TestLog_Legacy(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	// Creates the stream.
	if _, err := eventlog.Open(ctx, srv.JS, eventlog.Config{}); err != nil {
		t.Fatal(err)
	}
	// An event as an earlier version stored it.
	old := randid.New("link_")
	evs, _ := decider(createCmd(old), t0)(domain.Link{ID: old, Mode: events.ModeTest})
	data, err := events.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(events.Subject(events.ModeTest, old))
	m.Data = data
	if _, err := srv.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}

	l, err := eventlog.Open(ctx, srv.JS, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Legacy() {
		t.Fatal("the stream is not seen as legacy")
	}
	expiry := domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: t0.Add(48 * time.Hour)}
	link, last, err := l.Update(ctx, events.ModeTest, old, decider(expiry, t0))
	if err != nil || link.Version != 2 {
		t.Fatalf("update of the old link: %+v, %v", link, err)
	}
	// A stale append still conflicts.
	stale, _ := decider(expiry, t0)(domain.Link{ID: old, Mode: events.ModeTest, Version: 1})
	if _, err := l.Append(ctx, 1, stale); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("stale append: err = %v, want ErrConflict", err)
	}
	nu := randid.New("link_")
	if _, _, err := l.Create(ctx, events.ModeTest, nu, decider(createCmd(nu), t0)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{old, nu} {
		got := subjectsOf(t, srv, events.Subject(events.ModeTest, id)+".>")
		if len(got) != 0 {
			t.Fatalf("%s has events on subjects with a class: %v", id, got)
		}
	}
	if got := subjectsOf(t, srv, events.Subject(events.ModeTest, old)); len(got) != 2 {
		t.Fatalf("old link's subject holds %d events, want 2", len(got))
	}
	if got, seq, err := l.Load(ctx, events.ModeTest, old); err != nil || seq != last || got.Version != 2 {
		t.Fatalf("load: %+v at %d, %v", got, seq, err)
	}
	if hist, err := l.History(ctx, events.ModeTest, old); err != nil || len(hist) != 2 {
		t.Fatalf("history: %d, %v", len(hist), err)
	}
	if n, err := l.LastSequenceOf(ctx, events.SubjectsLegacy); err != nil || n == 0 {
		t.Fatalf("last legacy: %d %v", n, err)
	}
}
