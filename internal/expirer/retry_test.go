package expirer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestRetryPolicy: the feed's Retry middleware retries a failure that may
// pass later, up to MaxRetries times, and never a permanent one.
func TestRetryPolicy(t *testing.T) {
	r := retryPolicy(nil)
	r.InitialInterval, r.MaxInterval = 2*time.Millisecond, 10*time.Millisecond
	errPassing := errors.New("passing")
	for _, c := range []struct {
		name      string
		fails     int   // attempts that fail before one succeeds
		err       error // their error
		wantCalls int
		wantErr   bool
	}{
		{"FirstAttempt", 0, nil, 1, false},
		{"AfterTwoFailures", 2, errPassing, 3, false},
		{"EveryAttemptFails", 100, errPassing, r.MaxRetries + 1, true},
		{"Busy", 100, errBusy, r.MaxRetries + 1, true},
		{"Permanent", 100, permanentError{errPassing}, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			h := r.Middleware(func(*message.Message) ([]*message.Message, error) {
				calls++
				if calls <= c.fails {
					return nil, c.err
				}
				return nil, nil
			})
			_, err := h(message.NewMessage("1", nil))
			if calls != c.wantCalls || (err != nil) != c.wantErr || c.wantErr && !errors.Is(err, c.err) {
				t.Errorf("calls = %d, err = %v; want %d calls, error %v", calls, err, c.wantCalls, c.wantErr)
			}
		})
	}
	t.Run("Canceled", func(t *testing.T) {
		r := retryPolicy(nil)
		r.InitialInterval = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		msg := message.NewMessage("1", nil)
		msg.SetContext(ctx)
		calls := 0
		h := r.Middleware(func(*message.Message) ([]*message.Message, error) {
			calls++
			cancel() // stopping while the retry waits its hour
			return nil, errPassing
		})
		if _, err := h(msg); !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("calls = %d, err = %v; want 1 call and context.Canceled", calls, err)
		}
	})
}
