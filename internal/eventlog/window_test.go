package eventlog

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/natstest"
)

// TestOpen_DuplicateWindow: the stream's default duplicate window covers
// Append's republishing , whatever the JetStream timeout, and
// Open brings a stream made with NATS's two-minute window, as earlier
// versions made it, to that default.
func TestOpen_DuplicateWindow(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		timeout time.Duration
		want    time.Duration
	}{
		{0, 30 * time.Second}, // the client's default, 5 s
		{20 * time.Second, (publishRetries + 1) * 2 * 20 * time.Second},
	} {
		t.Run("timeout "+c.timeout.String(), func(t *testing.T) {
			srv := natstest.Start(t)
			js := srv.JS
			if c.timeout > 0 {
				var err error
				if js, err = jetstream.New(srv.Conn, jetstream.WithDefaultTimeout(c.timeout)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := js.CreateStream(ctx, StreamConfig(Config{Duplicates: 2 * time.Minute})); err != nil {
				t.Fatal(err)
			}
			l, err := Open(ctx, js, Config{})
			if err != nil {
				t.Fatal(err)
			}
			info, err := l.stream.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := info.Config.Duplicates
			if got != c.want {
				t.Errorf("duplicate window %v, want %v", got, c.want)
			}
			if h := retryHorizon(js.Options().DefaultTimeout); got < h {
				t.Errorf("duplicate window %v is under the retry horizon %v", got, h)
			}
		})
	}
}
