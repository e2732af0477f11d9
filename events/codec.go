package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrMalformed is returned by Unmarshal when the bytes are not a well-formed
// envelope: not JSON, or a required field is missing or of the wrong type.
// No later binary can read such an event either.
var ErrMalformed = errors.New("events: malformed event")

// ErrUnsupported is returned by Unmarshal when the envelope is well formed
// but its schema is newer than Schema or its type is unknown to this version
// of the contract: a newer binary wrote it, and a newer binary can read it.
var ErrUnsupported = errors.New("events: unsupported event")

// Marshal encodes e, taking Type and Data from e.Payload. The bytes are
// those json.Marshal writes for the envelope; appendEvent writes them
// without reflection, and json.Marshal is the fallback for what it does
// not write.
func Marshal(e Event) ([]byte, error) {
	if e.Payload == nil {
		return nil, fmt.Errorf("events: marshal %s: no payload", e.ID)
	}
	if b, ok := appendEvent(make([]byte, 0, 1024), &e); ok {
		return b, nil
	}
	return marshalReflect(e)
}

// marshalReflect is Marshal by encoding/json.
func marshalReflect(e Event) ([]byte, error) {
	data, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("events: marshal %s payload: %w", e.ID, err)
	}
	env := e.Envelope
	env.Schema = Schema
	env.Type = e.Payload.EventType()
	env.Data = data
	return json.Marshal(env)
}

// Unmarshal decodes an envelope and its payload. Its errors wrap ErrMalformed
// or ErrUnsupported.
func Unmarshal(b []byte) (Event, error) {
	env, err := UnmarshalEnvelope(b)
	if err != nil {
		return Event{}, err
	}
	var p Payload
	switch env.Type {
	case TypeLinkCreated:
		p, err = decodePayload[LinkCreated](env.Data)
	case TypeLinkUpdated:
		p, err = decodePayload[LinkUpdated](env.Data)
	case TypeLinkExpired:
		p, err = decodePayload[LinkExpired](env.Data)
	case TypeLinkDeleted:
		p, err = decodePayload[LinkDeleted](env.Data)
	}
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s payload: %v", ErrMalformed, env.Type, err)
	}
	return Event{Envelope: env, Payload: p}, nil
}

// UnmarshalEnvelope decodes and checks the envelope without decoding the
// payload; readers that only need the state after the event (Envelope.Link)
// use it. Its errors wrap ErrMalformed or ErrUnsupported.
//
// It reads b with parseEnvelope, and what that parser does not accept
// with encoding/json (unmarshalEnvelopeJSON), which defines the result:
// FuzzUnmarshalEnvelope holds the two to the same envelopes and errors.
func UnmarshalEnvelope(b []byte) (Envelope, error) {
	var env Envelope
	if !parseEnvelope(b, &env) {
		return unmarshalEnvelopeJSON(b)
	}
	if err := env.check(env.ID != ""); err != nil {
		return Envelope{}, err
	}
	// Data owns its memory, as with encoding/json: b may be reused.
	env.Data = bytes.Clone(env.Data)
	return env, nil
}

// unmarshalEnvelopeJSON is UnmarshalEnvelope by encoding/json: the
// reference decoding of the contract.
func unmarshalEnvelopeJSON(b []byte) (Envelope, error) {
	// One pass over the bytes. The schema number is checked before
	// anything else, so that an event of a newer schema is reported as
	// unsupported whatever else changed in it; only when decoding fails is
	// the schema number read alone, to tell a newer schema whose fields
	// changed type (unsupported) from bytes no version can read
	// (malformed).
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		if serr := checkSchema(b); serr != nil {
			return Envelope{}, serr
		}
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := env.check(env.ID != ""); err != nil {
		return Envelope{}, err
	}
	return env, nil
}

// check reports whether e, as decoded, is an envelope that this version
// accepts: a schema it reads (checked first), the required fields, a known
// type and a link state that matches. hasID says whether the event id is
// set, which DecodeLinkView checks without keeping the id. Its errors wrap
// ErrMalformed or ErrUnsupported.
func (e *Envelope) check(hasID bool) error {
	if err := schemaSupported(e.Schema); err != nil {
		return err
	}
	switch {
	case !hasID || e.LinkID == "" || e.Version == 0 || !e.Mode.Valid() || e.Type == "":
		return fmt.Errorf("%w: missing id, type, link_id, version or mode", ErrMalformed)
	case len(e.Data) == 0 || string(e.Data) == "null":
		return fmt.Errorf("%w: no data", ErrMalformed)
	}
	switch e.Type {
	case TypeLinkCreated, TypeLinkUpdated, TypeLinkExpired, TypeLinkDeleted:
	default:
		return fmt.Errorf("%w: type %q", ErrUnsupported, e.Type)
	}
	if e.Link.ID != e.LinkID || e.Link.Version != e.Version || e.Link.Mode != e.Mode {
		return fmt.Errorf("%w: link state does not match envelope", ErrMalformed)
	}
	return nil
}

// checkSchema reads only the schema number: UnmarshalFile checks it first,
// and unmarshalEnvelopeJSON falls back on it when the whole envelope does
// not decode.
func checkSchema(b []byte) error {
	var head struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return schemaSupported(head.Schema)
}

// schemaSupported reports whether this version reads events of schema n.
func schemaSupported(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("%w: missing schema", ErrMalformed)
	case n > Schema:
		return fmt.Errorf("%w: schema %d is newer than %d", ErrUnsupported, n, Schema)
	}
	return nil
}

func decodePayload[T Payload](data json.RawMessage) (Payload, error) {
	var p T
	if len(data) == 0 {
		return nil, errors.New("no data")
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	return p, nil
}
