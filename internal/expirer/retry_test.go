package expirer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

func TestRetry(t *testing.T) {
	r := retry{
		MaxRetries:      3,
		InitialInterval: 2 * time.Millisecond,
		MaxInterval:     10 * time.Millisecond,
		Multiplier:      2,
		MaxElapsedTime:  5 * time.Second,
		ShouldRetry:     func(p middleware.RetryParams) bool { return !isPermanent(p.Err) },
	}
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
		{"EveryAttemptFails", 100, errPassing, 4, true}, // the first and MaxRetries more
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
			if calls != c.wantCalls || (err != nil) != c.wantErr {
				t.Errorf("calls = %d, err = %v; want %d calls, error %v", calls, err, c.wantCalls, c.wantErr)
			}
		})
	}
	t.Run("Canceled", func(t *testing.T) {
		calls := 0
		h := retry{MaxRetries: 3, InitialInterval: time.Hour, Multiplier: 2}.Middleware(func(*message.Message) ([]*message.Message, error) {
			calls++
			return nil, errPassing
		})
		ctx, cancel := context.WithCancel(context.Background())
		msg := message.NewMessage("1", nil)
		msg.SetContext(ctx)
		time.AfterFunc(10*time.Millisecond, cancel)
		if _, err := h(msg); !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("calls = %d, err = %v; want 1 call and context.Canceled", calls, err)
		}
	})
}
