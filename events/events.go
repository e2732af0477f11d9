package events

import (
	"encoding/json"
	"time"
)

// Schema is the version of the envelope and payload shapes this package
// writes. Readers accept every schema up to and including it and refuse newer
// ones with ErrUnsupported, so an old binary never misreads a newer event.
const Schema = 1

// Stable type strings. They are stored in every envelope and in the
// TypeHeader of every message, and never change once released.
const (
	TypeLinkCreated = "LinkCreated"
	TypeLinkUpdated = "LinkUpdated"
	TypeLinkExpired = "LinkExpired"
	TypeLinkDeleted = "LinkDeleted"
)

// Message headers set on every stored event, so that subscribers can route
// and filter without decoding the body. Nats-Msg-Id carries Envelope.ID.
const (
	TypeHeader   = "Filelinks-Event-Type"
	SchemaHeader = "Filelinks-Schema"
)

// Mode separates test objects from live objects; objects of one mode do not
// exist for the other.
type Mode string

const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

// Valid reports whether m is one of the two modes.
func (m Mode) Valid() bool { return m == ModeTest || m == ModeLive }

// Envelope is what is stored for each event. Its fields are the same for all
// event types; Data holds the type's payload and Link the state of the link
// after the event was applied.
type Envelope struct {
	Schema  int       `json:"schema"`
	ID      string    `json:"id"`      // unique event id ("evt_..."), also the Nats-Msg-Id
	Type    string    `json:"type"`    // one of the Type constants
	LinkID  string    `json:"link_id"` // the aggregate
	Mode    Mode      `json:"mode"`
	Version uint64    `json:"version"` // per-link version: 1 for LinkCreated, then +1 per event
	Time    time.Time `json:"time"`    // when the command was decided (UTC)
	Audit   Audit     `json:"audit"`
	// Data is the typed payload, as JSON. Use Event.Payload instead of
	// decoding it by hand.
	Data json.RawMessage `json:"data"`
	// Link is the complete state of the link after this event.
	Link LinkState `json:"link"`
}

// Audit says who caused an event. It never holds a secret.
type Audit struct {
	// Actor is "api" for a client request, or the name of the worker
	// ("expirer") that caused the event.
	Actor string `json:"actor"`
	// KeyID identifies the API key that acted (a hash prefix, never the key).
	KeyID          string `json:"key_id,omitempty"`
	RequestID      string `json:"request_id,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// LinkState is the complete state of a link. Times are UTC; ExpiresAt has
// whole-second precision.
type LinkState struct {
	ID      string    `json:"id"`
	Mode    Mode      `json:"mode"`
	FileID  string    `json:"file_id"`
	Token   string    `json:"token"` // the secret part of the public URL
	Created time.Time `json:"created"`
	// ExpiresAt is when the link stops working; nil means never.
	ExpiresAt *time.Time `json:"expires_at"`
	// ExpiredAt is set once a LinkExpired event has been applied.
	ExpiredAt *time.Time `json:"expired_at"`
	// DeletedAt is set once a LinkDeleted event has been applied.
	DeletedAt *time.Time        `json:"deleted_at"`
	Metadata  map[string]string `json:"metadata"`
	Version   uint64            `json:"version"`
}

// Payload is implemented by the four payload types.
type Payload interface {
	EventType() string
}

// LinkCreated records a new link to a file.
type LinkCreated struct {
	FileID    string            `json:"file_id"`
	Token     string            `json:"token"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Metadata  map[string]string `json:"metadata"`
}

// LinkUpdated records a change of expiry or metadata. Only the fields that
// changed are set.
type LinkUpdated struct {
	// ExpiresAt is the new expiry when it was set to a future time.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ExpiresAtCleared is true when the expiry was removed.
	ExpiresAtCleared bool `json:"expires_at_cleared,omitempty"`
	// MetadataCleared is true when all keys were removed first.
	MetadataCleared bool `json:"metadata_cleared,omitempty"`
	// MetadataSet holds the keys that were added or changed.
	MetadataSet map[string]string `json:"metadata_set,omitempty"`
	// MetadataUnset holds the keys that were removed, sorted.
	MetadataUnset []string `json:"metadata_unset,omitempty"`
}

// Reasons a link expired.
const (
	// ReasonDeadline: the link's expires_at was reached.
	ReasonDeadline = "deadline"
	// ReasonRequested: a client set expires_at to "now".
	ReasonRequested = "requested"
)

// LinkExpired records that a link stopped working.
type LinkExpired struct {
	Reason string `json:"reason"`
	// Deadline is the expires_at that was reached; for ReasonRequested it is
	// the moment of the request.
	Deadline time.Time `json:"deadline"`
}

// LinkDeleted records that a link was permanently deleted.
type LinkDeleted struct{}

func (LinkCreated) EventType() string { return TypeLinkCreated }
func (LinkUpdated) EventType() string { return TypeLinkUpdated }
func (LinkExpired) EventType() string { return TypeLinkExpired }
func (LinkDeleted) EventType() string { return TypeLinkDeleted }

// Event is an envelope with its payload decoded.
type Event struct {
	Envelope
	Payload Payload
}

// Record is one stored event as a reader receives it: the stream sequence it
// was stored at, its subject (which says whether it is a link or a file
// event) and its encoded bytes.
type Record struct {
	Seq     uint64
	Subject string
	Data    []byte
}
