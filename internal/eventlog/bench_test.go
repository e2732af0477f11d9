package eventlog_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/randid"
)

// BenchmarkAppend compares, on one embedded server in one run, a create
// through the event log (decide and seal on the empty state of a new id,
// publish expecting an empty subject) with a bare synchronous publish carrying an expected
// subject sequence of 0 and a message id. The ratio of their ns/op is the
// figure in docs/benchmarks.md.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	l, srv := openLog(b)

	b.Run("BarePublish", func(b *testing.B) {
		payload := make([]byte, 600) // about the size of an encoded LinkCreated
		for b.Loop() {
			m := nats.NewMsg(events.Subject(events.ModeTest, randid.New("link_")))
			m.Data = payload
			if _, err := srv.JS.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithMsgID(randid.New("evt_"))); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("CreateLink", func(b *testing.B) {
		for b.Loop() {
			id := randid.New("link_")
			if _, _, err := l.Create(ctx, events.ModeTest, id, decider(createCmd(id), t0)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
