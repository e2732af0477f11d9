package app

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// LinkLog is the event log as the use cases need it (eventlog.Log).
type LinkLog interface {
	// Update loads the link, calls decide on it and appends the events it
	// returns, again on fresher state after a conflict. It returns the
	// change (the state decide was last called with and the events
	// appended) and the stream sequence of the link's last event.
	Update(ctx context.Context, mode events.Mode, id string, decide func(domain.Link) ([]events.Event, error)) (domain.Change, uint64, error)
	// Create is Update for a new link id: it skips the load.
	Create(ctx context.Context, mode events.Mode, id string, decide func(domain.Link) ([]events.Event, error)) (domain.Change, uint64, error)
	// First returns a link's first event, or ok == false if it has none.
	First(ctx context.Context, mode events.Mode, id string) (e events.Event, seq uint64, ok bool, err error)
}

// LinkReads is the read model (projections.Store).
type LinkReads interface {
	Get(mode events.Mode, id string) (domain.Link, error)
	GetByToken(token string) (domain.Link, error)
	List(q domain.ListQuery) (domain.Page, error)
	// Checkpoint is the sequence of the last event applied; WaitFor waits
	// until it reaches seq.
	Checkpoint() uint64
	WaitFor(ctx context.Context, seq uint64) error
}

// FileLookup finds the facts about a file that a new link needs. A missing
// file is domain.File{ID: id, Found: false}, not an error.
type FileLookup interface {
	LookupFile(ctx context.Context, mode events.Mode, id string) (domain.File, error)
}

// Links runs the file-link commands and queries.
type Links struct {
	Log   LinkLog
	Reads LinkReads
	Files FileLookup
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// NewID returns a new random id with the given prefix; NewToken a new
	// random secret for a public-URL token (domain.LinkToken).
	NewID    func(prefix string) string
	NewToken func() string
	// DerivedID returns an id with the given prefix that is a function of
	// parts (randid.Derived), for CreateOnce.
	DerivedID func(prefix string, parts ...string) string
	// ProjectionWait bounds how long a read waits for the read model to
	// show this process's link writes, and a file upload for its file
	// (read-your-writes). Default 5s.
	ProjectionWait time.Duration
	Logger         *slog.Logger

	// written is the stream sequence of the latest link event this process
	// appended; reads wait until the read model has applied it (caughtUp).
	written atomic.Uint64
	// gaveUp is the highest mark a read waited for in vain (the read model
	// stalled): later reads do not wait for it again.
	gaveUp atomic.Uint64
}

// now returns the current time in UTC, to the millisecond: the precision of
// every stored time.
func (s *Links) now() time.Time {
	f := s.Now
	if f == nil {
		f = time.Now
	}
	return f().UTC().Truncate(time.Millisecond)
}

// CreateInput is a request to create a link.
type CreateInput struct {
	Mode      events.Mode
	FileID    string
	ExpiresAt *time.Time
	Metadata  domain.MetadataPatch
	Audit     events.Audit
}

// createCommand looks up in's file and returns the command that creates
// the link linkID, with a new token. A create without a file is refused
// first, before an idempotency key is looked at.
func (s *Links) createCommand(ctx context.Context, in CreateInput, linkID string) (domain.CreateLink, error) {
	if err := domain.RequireFile(in.FileID); err != nil {
		return domain.CreateLink{}, err
	}
	file, err := s.Files.LookupFile(ctx, in.Mode, in.FileID)
	if err != nil {
		return domain.CreateLink{}, err
	}
	return domain.CreateLink{
		Mode:      in.Mode,
		LinkID:    linkID,
		Token:     domain.LinkToken(linkID, s.NewToken()),
		File:      file,
		ExpiresAt: in.ExpiresAt,
		Metadata:  in.Metadata,
	}, nil
}

// Create makes a new link and returns it.
func (s *Links) Create(ctx context.Context, in CreateInput) (domain.Link, error) {
	cmd, err := s.createCommand(ctx, in, s.NewID("link_"))
	if err != nil {
		return domain.Link{}, err
	}
	change, seq, err := s.Log.Create(ctx, in.Mode, cmd.LinkID, s.decider(cmd, in.Audit))
	if err != nil {
		return domain.Link{}, err
	}
	s.wrote(seq)
	return change.After(), nil
}

// Replay says that CreateOnce answered with the link an earlier request
// with the same idempotency key created.
type Replay struct {
	// RequestID is the request id of that earlier request.
	RequestID string
	// At is when it was decided: render the link as of then to repeat the
	// first response.
	At time.Time
}

// onceID is the id of the link that a create with idempotency key key,
// made with the API key keyID in mode, makes: a function of the three, so
// that every retry of the request names the same link.
func (s *Links) onceID(mode events.Mode, keyID, key string) string {
	return s.DerivedID("link_", "filelinks/create-once", string(mode), keyID, key)
}

// CreateOnce is Create for a request that carries an idempotency key
// (in.Audit.IdempotencyKey, within the API key in.Audit.KeyID). The new
// link's id is derived from those two and the mode (onceID), so the event
// log itself makes the request idempotent, with no record of its own: the
// append expects the link's subject to be empty, so of any number of
// retries, concurrent or days apart, exactly one creates the link; every
// other one finds the link's LinkCreated and answers with the link as that
// event made it (a Replay), or with domain.IdempotencyMismatch when its
// parameters would have made a different link. A request that fails
// creates nothing, and a retry runs again.
func (s *Links) CreateOnce(ctx context.Context, in CreateInput) (domain.Link, *Replay, error) {
	if in.Audit.IdempotencyKey == "" {
		return domain.Link{}, nil, errors.New("app: CreateOnce without an idempotency key")
	}
	cmd, err := s.createCommand(ctx, in, s.onceID(in.Mode, in.Audit.KeyID, in.Audit.IdempotencyKey))
	if err != nil {
		return domain.Link{}, nil, err
	}
	change, seq, err := s.Log.Create(ctx, in.Mode, cmd.LinkID, func(state domain.Link) ([]events.Event, error) {
		if state.Version > 0 { // an earlier request created it (even if deleted since)
			return nil, nil
		}
		return s.decide(state, cmd, in.Audit)
	})
	exists := err == nil && change.Before.Version > 0
	if code := domain.ErrorCode(err); code == domain.EINVALID || code == domain.ENOTFOUND {
		// Refused now, but perhaps accepted before, when for instance its
		// expires_at was still in the future: then it is a replay (or a
		// mismatch, if the parameters differ).
		_, firstSeq, found, ferr := s.Log.First(ctx, in.Mode, cmd.LinkID)
		switch {
		case ferr != nil:
			return domain.Link{}, nil, ferr
		case found:
			exists, err, seq = true, nil, firstSeq
		}
	}
	switch {
	case err != nil:
		return domain.Link{}, nil, err
	case exists:
		link, replay, err := s.replay(ctx, in, cmd)
		if err == nil {
			// Like after the first request, the caller's next read
			// finds the link.
			s.wrote(seq)
		}
		return link, replay, err
	}
	s.wrote(seq)
	return change.After(), nil, nil
}

// firstAttempts bounds how often replay reads a link's first event that
// the link's last event says exists.
const firstAttempts = 4

// replay answers a CreateOnce whose link exists: with the link as its
// LinkCreated made it, if that event came from a request with the same
// idempotency key and parameters. When the link exists but its first event
// cannot be read yet (a replica of the stream that has not stored it), it
// returns domain.IdempotencyInUse: the caller retries.
func (s *Links) replay(ctx context.Context, in CreateInput, cmd domain.CreateLink) (domain.Link, *Replay, error) {
	var e events.Event
	for attempt := 1; ; attempt++ {
		var found bool
		var err error
		e, _, found, err = s.Log.First(ctx, in.Mode, cmd.LinkID)
		switch {
		case err != nil:
			return domain.Link{}, nil, err
		case found:
		case attempt == firstAttempts:
			return domain.Link{}, nil, domain.IdempotencyInUse()
		default:
			// A direct get answered by a replica that is behind.
			select {
			case <-ctx.Done():
				return domain.Link{}, nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
			}
			continue
		}
		break
	}
	created, ok := e.Payload.(events.LinkCreated)
	if !ok || e.Audit.KeyID != in.Audit.KeyID || e.Audit.IdempotencyKey != in.Audit.IdempotencyKey ||
		!domain.SameCreate(created, cmd, e.Time) {
		return domain.Link{}, nil, domain.IdempotencyMismatch(in.Audit.IdempotencyKey)
	}
	return domain.FromState(e.Link), &Replay{RequestID: e.Audit.RequestID, At: e.Time}, nil
}

// UpdateInput is a request to change a link.
type UpdateInput struct {
	Mode   events.Mode
	LinkID string
	Change domain.UpdateLink
	Audit  events.Audit
}

// Update changes a link's expiry or metadata and returns the link.
func (s *Links) Update(ctx context.Context, in UpdateInput) (domain.Link, error) {
	if !domain.ValidID(in.LinkID) {
		return domain.Link{}, domain.LinkNotFound(in.LinkID)
	}
	return s.run(ctx, in.Mode, in.LinkID, in.Change, in.Audit)
}

// Delete deletes a link for good.
func (s *Links) Delete(ctx context.Context, mode events.Mode, id string, audit events.Audit) error {
	if !domain.ValidID(id) {
		return domain.LinkNotFound(id)
	}
	_, err := s.run(ctx, mode, id, domain.DeleteLink{}, audit)
	return err
}

// Expire appends LinkExpired for a link whose deadline has come, unless the
// link changed since the deadline was scheduled. It reports whether an event
// was appended.
func (s *Links) Expire(ctx context.Context, mode events.Mode, id string, deadline time.Time, audit events.Audit) (bool, error) {
	change, seq, err := s.Log.Update(ctx, mode, id, s.decider(domain.ExpireLink{Deadline: deadline}, audit))
	if err != nil {
		return false, err
	}
	// Appended or not, seq is the link's last event: a read in this
	// process waits until the read model has it, so it sees the expiry.
	s.wrote(seq)
	return len(change.Events) > 0, nil
}

// Get returns a link as the read model has it.
func (s *Links) Get(ctx context.Context, mode events.Mode, id string) (domain.Link, error) {
	if !domain.ValidID(id) {
		return domain.Link{}, domain.LinkNotFound(id)
	}
	s.caughtUp(ctx)
	return s.Reads.Get(mode, id)
}

// List returns a page of links; q.Now is set to the current time.
func (s *Links) List(ctx context.Context, q domain.ListQuery) (domain.Page, error) {
	s.caughtUp(ctx)
	q.Now = s.now()
	return s.Reads.List(q)
}

// GetByToken returns the link of a public URL's token as the read model
// has it.
func (s *Links) GetByToken(ctx context.Context, token string) (domain.Link, error) {
	s.caughtUp(ctx)
	return s.Reads.GetByToken(token)
}

// run applies cmd to the link through the event log and marks it written
// (see caughtUp).
func (s *Links) run(ctx context.Context, mode events.Mode, id string, cmd domain.Command, audit events.Audit) (domain.Link, error) {
	change, seq, err := s.Log.Update(ctx, mode, id, s.decider(cmd, audit))
	if err != nil {
		return domain.Link{}, err
	}
	s.wrote(seq)
	return change.After(), nil
}

// decider returns the closure that decides cmd on the state the log
// loads (decide).
func (s *Links) decider(cmd domain.Command, audit events.Audit) func(domain.Link) ([]events.Event, error) {
	return func(state domain.Link) ([]events.Event, error) { return s.decide(state, cmd, audit) }
}

// decide runs the pure decision at the current time and seals its payloads
// into events.
func (s *Links) decide(state domain.Link, cmd domain.Command, audit events.Audit) ([]events.Event, error) {
	now := s.now()
	payloads, err := domain.Decide(state, cmd, now)
	if err != nil || len(payloads) == 0 {
		return nil, err
	}
	ids := make([]string, len(payloads))
	for i := range ids {
		ids[i] = s.NewID("evt_")
	}
	evs, _ := domain.Seal(state.ID, state.Mode, state, payloads, now, audit, ids)
	return evs, nil
}

// Read-your-writes. A link write returns once its event is stored, without
// waiting for the read model. The process remembers the sequence of the
// latest link event it appended (wrote), and a read first waits until the
// read model has applied it (caughtUp). A client's read after its write
// through this process thus shows the write, while a burst of writes pays
// no wait at all: the projector applies them in batches as large as the
// backlog, with nobody waiting on each commit.

// wrote marks seq, the sequence of a link event just appended, as written.
func (s *Links) wrote(seq uint64) { raise(&s.written, seq) }

// raise sets a to v unless it already holds as much.
func raise(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// caughtUp waits, at most ProjectionWait, until the read model has applied
// every link event this process had appended when it was called. A read
// model that stalls delays the reads that follow one write, not every
// read: a mark that was waited for in vain is not waited for again.
func (s *Links) caughtUp(ctx context.Context) {
	mark := s.written.Load()
	if mark <= s.gaveUp.Load() {
		return
	}
	err := s.waitProjected(ctx, mark)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		raise(&s.gaveUp, mark)
	}
}

// waitProjected waits, at most ProjectionWait, until the read model has
// applied the event at seq. Running late is logged and returned; the event
// is stored all the same, only a read may not show it yet.
func (s *Links) waitProjected(ctx context.Context, seq uint64) error {
	if seq == 0 || s.Reads.Checkpoint() >= seq {
		return nil
	}
	wait := s.ProjectionWait
	if wait == 0 {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := s.Reads.WaitFor(ctx, seq)
	if err != nil && s.Logger != nil {
		s.Logger.Warn("read model behind the event log", "seq", seq, "err", err)
	}
	return err
}
