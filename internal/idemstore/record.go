package idemstore

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Record states.
const (
	stateStarted = "started" // a request holds the key
	stateDone    = "done"    // the response is stored
)

// recordVersion is the layout version a record carries, so that a later
// layout can still read records written in the replay window before it.
const recordVersion = 1

// header is the JSON part of a record.
type header struct {
	Version     int    `json:"v"`
	State       string `json:"state"`
	Fingerprint string `json:"fp"`
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	RequestID   string `json:"request_id,omitempty"`
}

// encode lays a record out as its JSON header, a newline and the raw body,
// so that the body is not inflated by base64. json.Marshal escapes
// newlines inside strings, so the first newline ends the header.
func encode(h header, body []byte) ([]byte, error) {
	h.Version = recordVersion
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("idemstore: record header: %w", err)
	}
	v := make([]byte, 0, len(js)+1+len(body))
	v = append(v, js...)
	v = append(v, '\n')
	return append(v, body...), nil
}

func decode(v []byte) (header, []byte, error) {
	var h header
	js, body, ok := bytes.Cut(v, []byte{'\n'})
	if !ok {
		return h, nil, fmt.Errorf("idemstore: record without header")
	}
	if err := json.Unmarshal(js, &h); err != nil {
		return h, nil, fmt.Errorf("idemstore: record header: %w", err)
	}
	if h.Version != recordVersion || (h.State != stateStarted && h.State != stateDone) {
		return h, nil, fmt.Errorf("idemstore: record version %d state %q", h.Version, h.State)
	}
	return h, body, nil
}
