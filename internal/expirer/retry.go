package expirer

import (
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// retry is Watermill's Retry middleware with the first attempt taken out
// of it. The middleware builds a backoff, its options and a timer for every
// message before the first attempt, and nearly every message succeeds at
// once: here the handler runs once directly, and only a failure that
// ShouldRetry accepts waits InitialInterval and goes on in middleware.Retry
// for the other MaxRetries-1 attempts, starting at the next interval. The
// attempts, their waits and the time limit are those of the whole
// middleware.Retry.
type retry middleware.Retry

func (r retry) Middleware(h message.HandlerFunc) message.HandlerFunc {
	rest := middleware.Retry(r)
	rest.MaxRetries--
	rest.InitialInterval = time.Duration(float64(r.InitialInterval) * r.Multiplier)
	if rest.MaxElapsedTime > 0 {
		rest.MaxElapsedTime = max(rest.MaxElapsedTime-r.InitialInterval, time.Nanosecond)
	}
	again := rest.Middleware(h)
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || r.MaxRetries < 1 ||
			r.ShouldRetry != nil && !r.ShouldRetry(middleware.RetryParams{Err: err, Delay: r.InitialInterval}) {
			return out, err
		}
		if r.Logger != nil {
			r.Logger.Error("Error occurred, retrying", err, watermill.LogFields{
				"retry_no": 0, "max_retries": r.MaxRetries, "wait_time": r.InitialInterval,
			})
		}
		wait := time.NewTimer(r.InitialInterval)
		defer wait.Stop()
		select {
		case <-msg.Context().Done():
			return out, msg.Context().Err()
		case <-wait.C:
		}
		return again(msg)
	}
}
