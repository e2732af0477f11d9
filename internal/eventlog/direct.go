package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// directLast asks stream for the last message on the subjects filter
// matches, wildcards allowed, with a direct get whose filter is in the
// request's body ({"last_by_subj": filter}): nats.go's
// GetLastMsgForSubject puts the filter in the request's subject, where a
// wildcard is not allowed. It answers like GetLastMsgForSubject: the
// message, or jetstream.ErrMsgNotFound. The stream allows direct gets
// (StreamConfig).
func directLast(ctx context.Context, js jetstream.JetStream, stream, filter string) (*jetstream.RawStreamMsg, error) {
	req, err := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{filter})
	if err != nil {
		return nil, err
	}
	prefix := js.Options().APIPrefix
	if prefix == "" {
		prefix = jetstream.DefaultAPIPrefix
	}
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, js.Options().DefaultTimeout)
		defer cancel()
	}
	resp, err := js.Conn().RequestWithContext(ctx, prefix+"DIRECT.GET."+stream, req)
	if err != nil {
		return nil, err
	}
	return directMsg(resp)
}

// directMsg reads a direct get's answer: the stored message with its
// sequence and subject in headers, or a status without data.
func directMsg(r *nats.Msg) (*jetstream.RawStreamMsg, error) {
	if len(r.Data) == 0 {
		switch status := r.Header.Get("Status"); status {
		case "":
		case "404":
			return nil, jetstream.ErrMsgNotFound
		default:
			desc := r.Header.Get("Description")
			if desc == "" {
				desc = "unable to get message"
			}
			return nil, fmt.Errorf("nats: direct get: %s %s", status, desc)
		}
	}
	seq, err := strconv.ParseUint(r.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil || seq == 0 {
		return nil, fmt.Errorf("nats: direct get: bad or missing %s header", jetstream.SequenceHeader)
	}
	subj := r.Header.Get(jetstream.SubjectHeader)
	if subj == "" {
		return nil, fmt.Errorf("nats: direct get: missing %s header", jetstream.SubjectHeader)
	}
	return &jetstream.RawStreamMsg{Subject: subj, Sequence: seq, Header: r.Header, Data: r.Data}, nil
}
