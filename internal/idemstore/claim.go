package idemstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Response is a stored response, replayed as it was first sent.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// ContentType is the Content-Type header.
	ContentType string
	// Body is the response body.
	Body []byte
	// RequestID is the request id of the request that produced it.
	RequestID string
}

// Outcome is the result of Begin: exactly one field is set.
type Outcome struct {
	// Claim is set when the caller now holds the key: it runs the request
	// and ends with Complete or Abandon.
	Claim *Claim
	// Replay is set when the key holds a completed response: the caller
	// sends it again (with Idempotent-Replayed: true) and runs nothing.
	Replay *Response
}

// Claim is a caller's hold on a key, from Begin to Complete or Abandon. It
// remembers the revision of the record it wrote, which every later write
// is checked against. It is safe for concurrent use, e.g. a goroutine that
// Renews while the request runs.
type Claim struct {
	key         string
	fingerprint string

	mu      sync.Mutex
	rev     uint64
	settled bool
}

// errSettled is returned for a claim already completed or abandoned.
var errSettled = errors.New("idemstore: claim already completed or abandoned")

// beginAttempts bounds Begin's rounds when the record disappears (it was
// abandoned) between a failed create and the read.
const beginAttempts = 3

// Begin claims the key (scope, key) for a request of the given fingerprint,
// or returns the stored response to replay. It returns ErrMismatch when the
// key was used with another fingerprint, ErrInUse while another request
// holds it, and ErrInvalidKey for an empty scope or a bad key. A key held
// longer than the lease is taken over; of several callers racing for it,
// one gets the claim and the others ErrInUse.
func (s *Store) Begin(ctx context.Context, scope, key, fingerprint string) (Outcome, error) {
	if err := checkKey(scope, key); err != nil {
		return Outcome{}, err
	}
	k := kvKey(scope, key)
	started, err := encode(header{State: stateStarted, Fingerprint: fingerprint}, nil)
	if err != nil {
		return Outcome{}, err
	}
	if len(started) > s.maxValue {
		return Outcome{}, fmt.Errorf("idemstore: fingerprint of %d bytes is too long", len(fingerprint))
	}
	for range beginAttempts {
		rev, err := s.kv.Create(ctx, k, started)
		if err == nil {
			return Outcome{Claim: &Claim{key: k, fingerprint: fingerprint, rev: rev}}, nil
		}
		if !isConflict(err) {
			return Outcome{}, fmt.Errorf("idemstore: begin: %w", err)
		}
		entry, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // abandoned since the create failed: try again
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("idemstore: begin: %w", err)
		}
		h, body, err := decode(entry.Value())
		if err != nil {
			return Outcome{}, fmt.Errorf("idemstore: begin: revision %d: %w", entry.Revision(), err)
		}
		switch {
		case h.Fingerprint != fingerprint:
			return Outcome{}, ErrMismatch
		case h.State == stateDone:
			return Outcome{Replay: &Response{Status: h.Status, ContentType: h.ContentType, Body: body, RequestID: h.RequestID}}, nil
		case s.cfg.Now().Sub(entry.Created()) < s.cfg.Lease:
			return Outcome{}, ErrInUse
		}
		// The owner has held the key past its lease: take it over. The
		// update is checked against the revision just read, so of several
		// takers one wins; the old owner's Complete then fails.
		rev, err = s.kv.Update(ctx, k, started, entry.Revision())
		if isConflict(err) {
			return Outcome{}, ErrInUse
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("idemstore: take over: %w", err)
		}
		return Outcome{Claim: &Claim{key: k, fingerprint: fingerprint, rev: rev}}, nil
	}
	return Outcome{}, ErrInUse
}

// Complete stores the response for replay and ends the claim. It returns
// ErrLeaseLost when the claim was taken over or expired (nothing is
// stored), and ErrResponseTooLarge when the body exceeds MaxBody, after
// abandoning the claim so that a retry runs the request again.
func (s *Store) Complete(ctx context.Context, c *Claim, resp Response) error {
	v, err := encode(header{
		State: stateDone, Fingerprint: c.fingerprint,
		Status: resp.Status, ContentType: resp.ContentType, RequestID: resp.RequestID,
	}, resp.Body)
	if err != nil {
		return err
	}
	if len(resp.Body) > s.cfg.MaxBody || len(v) > s.maxValue {
		return errors.Join(fmt.Errorf("%w: %d bytes of body, at most %d", ErrResponseTooLarge, len(resp.Body), s.cfg.MaxBody),
			s.Abandon(ctx, c))
	}
	return c.write(func(rev uint64) (uint64, error) {
		return s.kv.Update(ctx, c.key, v, rev)
	}, true)
}

// Abandon deletes the in-progress record and ends the claim, so that
// nothing is kept and a retry runs the request. It returns ErrLeaseLost
// when the claim was taken over or expired (the record is left alone).
func (s *Store) Abandon(ctx context.Context, c *Claim) error {
	return c.write(func(rev uint64) (uint64, error) {
		return 0, s.kv.Delete(ctx, c.key, jetstream.LastRevision(rev))
	}, true)
}

// Renew restarts the claim's lease, for a request that may run longer
// than Config.Lease. It returns ErrLeaseLost when the claim was taken over
// or expired.
func (s *Store) Renew(ctx context.Context, c *Claim) error {
	v, err := encode(header{State: stateStarted, Fingerprint: c.fingerprint}, nil)
	if err != nil {
		return err
	}
	return c.write(func(rev uint64) (uint64, error) {
		return s.kv.Update(ctx, c.key, v, rev)
	}, false)
}

// write runs a revision-checked write of the claim's record, records the
// new revision and, when settle is set, ends the claim.
func (c *Claim) write(w func(rev uint64) (uint64, error), settle bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settled {
		return errSettled
	}
	rev, err := w(c.rev)
	if isConflict(err) {
		c.settled = true
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("idemstore: %w", err)
	}
	c.rev, c.settled = rev, settle
	return nil
}
