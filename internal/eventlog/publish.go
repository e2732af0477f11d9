package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// This file is the one place where the event log does by hand what nats.go
// does: the publish of a single event, the path of every create. It is
// kept for speed, and only for that path; batches and everything else use
// nats.go as it is.
//
// publishOne is jetstream's PublishMsg with the expectation already in the
// message's headers: a request to the stream and its acknowledgement, read
// without encoding/json when it is the usual {"stream":"<ours>","seq":N,...}
// (parsePubAck). PublishMsg builds a context and a timer per publish,
// applies its options to the headers, and decodes every acknowledgement
// with encoding/json: 21 allocations of the 82 of a create through the log.
//
// Measured on the machine of docs/benchmarks.md (2 vCPUs), 2026-12-08:
//   - go test ./internal/eventlog -run X -bench Append -benchmem:
//     CreateLink 71.7 µs and 61 allocations with publishOne, 77.7 µs and 82
//     allocations with PublishMsg (medians of 10 interleaved runs).
//   - go test ./cmd/api -run X -bench 'BenchmarkCreate$' -benchmem: 239
//     allocations per HTTP create with publishOne, 261 with PublishMsg.
//   - docs/bench/http.sh (ROUNDS=3, run twice), create ÷ trivial handler,
//     interleaved with the same code publishing through PublishMsg:
//     median 30.6 % with publishOne, 29.6 % with PublishMsg, six
//     repetitions each (docs/benchmarks.md, "The single-event publish").
//
// Its errors are PublishMsg's: an *jetstream.APIError for a refusal,
// jetstream.ErrNoStreamResponse when no stream answers (after retries, as
// PublishMsg does, for a stream between leaders), and a timeout. The wait
// is bounded by the JetStream timeout, or ctx's deadline when that is
// sooner (so that the duplicate window covers every retry), but not cut
// short when ctx is canceled afterwards: a request whose client went away
// still learns whether its event was stored, for the idempotency of its
// retry. TestParsePubAck holds parsePubAck to PublishMsg's answers.
func (l *Log) publishOne(ctx context.Context, m *nats.Msg) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	timeout := l.js.Options().DefaultTimeout
	if d, ok := ctx.Deadline(); ok {
		if timeout = min(timeout, time.Until(d)); timeout <= 0 {
			return 0, context.DeadlineExceeded
		}
	}
	deadline := time.Now().Add(timeout)
	nc := l.js.Conn()
	resp, err := nc.RequestMsg(m, timeout)
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < jetstream.DefaultPubRetryAttempts; r++ {
		wait := min(jetstream.DefaultPubRetryWait, time.Until(deadline))
		if wait <= 0 {
			return 0, nats.ErrTimeout
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		if timeout = time.Until(deadline); timeout <= 0 {
			return 0, nats.ErrTimeout
		}
		resp, err = nc.RequestMsg(m, timeout)
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return 0, jetstream.ErrNoStreamResponse
	case err != nil:
		return 0, err
	}
	return parsePubAck(resp.Data, l.cfg.Stream)
}

// parsePubAck returns the sequence of a JetStream publish acknowledgement
// from stream, or its error. The server writes the error first when there
// is one, so an answer that starts with the stream's name and a sequence
// is a success; anything else is decoded by encoding/json.
func parsePubAck(b []byte, stream string) (uint64, error) {
	prefix := `{"stream":"` + stream + `","seq":`
	if len(b) > len(prefix) && string(b[:len(prefix)]) == prefix {
		var seq uint64
		i := len(prefix)
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9' && i-len(prefix) < 19; i++ {
			seq = seq*10 + uint64(b[i]-'0')
		}
		if i > len(prefix) && i < len(b) && (b[i] == '}' || b[i] == ',') && seq > 0 {
			return seq, nil
		}
	}
	var ack struct {
		Error  *jetstream.APIError `json:"error"`
		Stream string              `json:"stream"`
		Seq    uint64              `json:"seq"`
	}
	if err := json.Unmarshal(b, &ack); err != nil {
		return 0, jetstream.ErrInvalidJSAck
	}
	if ack.Error != nil {
		return 0, fmt.Errorf("nats: %w", ack.Error)
	}
	if ack.Stream == "" {
		return 0, jetstream.ErrInvalidJSAck
	}
	return ack.Seq, nil
}
