package idemstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
)

var (
	// ErrInUse is returned by Begin when another request holds the key and
	// its lease has not run out, and to the losers of a takeover race.
	ErrInUse = errors.New("idemstore: idempotency key in use by a concurrent request")
	// ErrMismatch is returned by Begin when the key was first used with a
	// request of another fingerprint (other method, path or parameters).
	ErrMismatch = errors.New("idemstore: idempotency key reused with other parameters")
	// ErrLeaseLost is returned by Complete, Abandon and Renew when the
	// record is no longer the one the claim created: another request took
	// it over after the lease ran out, or it expired.
	ErrLeaseLost = errors.New("idemstore: claim taken over or expired")
	// ErrResponseTooLarge is returned by Complete when the response is too
	// large to keep; the claim is then abandoned, so a retry runs again.
	ErrResponseTooLarge = errors.New("idemstore: response too large to keep")
	// ErrInvalidKey is returned by Begin when the idempotency key is empty
	// or longer than MaxKeyLength characters, or the scope is empty.
	ErrInvalidKey = errors.New("idemstore: invalid idempotency key")
)

// MaxKeyLength is the longest idempotency key, in characters, that Begin
// accepts (Stripe's limit).
const MaxKeyLength = 255

// Config describes the bucket and the rules. The zero value is the
// single-server default.
type Config struct {
	// Bucket is the KV bucket name (its stream is KV_<Bucket>). Default
	// "FILELINKS_IDEMPOTENCY".
	Bucket string
	// Replicas is the number of replicas of the bucket's stream; 3 on a
	// cluster. Default 1.
	Replicas int
	// TTL is how long a record is kept after its last write: the replay
	// window. Default 24 hours.
	TTL time.Duration
	// Lease is how long an in-progress record protects its key. After it a
	// Begin takes the key over, assuming the owner died, so it must exceed
	// the longest request (or the owner must Renew). Default 60 seconds.
	Lease time.Duration
	// MaxBody is the largest response body Complete stores. Default 256
	// KiB; it must fit the server's max_payload with room for the record's
	// other fields.
	MaxBody int
	// Now is the clock for lease checks, compared with the server's
	// timestamp of the record's last write (so a lease does not depend on
	// which replica wrote the record). Default time.Now.
	Now func() time.Time
}

// headroom is the room a record needs besides the body: state,
// fingerprint, content type and request id. msgHeaders is what the
// message adds to a record (the expected-revision header), so the bucket
// allows values that much larger than the store ever writes.
const (
	headroom   = 4 << 10
	msgHeaders = 1 << 10
)

func (c *Config) setDefaults() {
	if c.Bucket == "" {
		c.Bucket = "FILELINKS_IDEMPOTENCY"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.TTL == 0 {
		c.TTL = 24 * time.Hour
	}
	if c.Lease == 0 {
		c.Lease = 60 * time.Second
	}
	if c.MaxBody == 0 {
		c.MaxBody = 256 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Store is the idempotency record store.
type Store struct {
	kv  jetstream.KeyValue
	cfg Config
	// maxValue is the largest record the store writes.
	maxValue int
}

// Open creates the bucket, or updates it to cfg, and returns the store. It
// fails when MaxBody does not fit in one message of the connected server.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	cfg.setDefaults()
	maxValue := cfg.MaxBody + headroom
	if limit := js.Conn().MaxPayload(); int64(maxValue+msgHeaders) > limit {
		return nil, fmt.Errorf("idemstore: MaxBody %d plus %d bytes of record does not fit the server's max_payload %d",
			cfg.MaxBody, headroom+msgHeaders, limit)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:       cfg.Bucket,
		Description:  "filelinks idempotency records",
		History:      1,
		TTL:          cfg.TTL,
		Storage:      jetstream.FileStorage,
		Replicas:     cfg.Replicas,
		MaxValueSize: int32(maxValue + msgHeaders),
	})
	if err != nil {
		return nil, fmt.Errorf("idemstore: create bucket %s: %w", cfg.Bucket, err)
	}
	return &Store{kv: kv, cfg: cfg, maxValue: maxValue}, nil
}

// kvKey derives the bucket key from the scope and the client's key. The
// scope is length-prefixed, so no (scope, key) pair can be spelled as
// another, and hashing makes any bytes a valid KV key.
func kvKey(scope, key string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(scope)))])
	h.Write([]byte(scope))
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))
}

func checkKey(scope, key string) error {
	switch {
	case scope == "":
		return fmt.Errorf("%w: empty scope", ErrInvalidKey)
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case utf8.RuneCountInString(key) > MaxKeyLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidKey, MaxKeyLength)
	}
	return nil
}

// isConflict reports whether err is a failed revision check: the key
// exists, or changed since it was read. A replicated stream reports it as
// error 10164 rather than 10071, and Create on a deleted key returns the
// bare API error.
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
