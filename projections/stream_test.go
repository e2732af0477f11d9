package projections

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// base is the start of the tests' clock.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// stream makes real events with domain.Decide and domain.Seal, encodes them
// with events.Marshal and numbers them like a JetStream stream would. It
// also keeps the state of every link, which the tests use as the truth.
type stream struct {
	tb    testing.TB
	recs  []events.Record
	links map[string]*testLink // by mode/id
	order []*testLink          // in creation order
	evt   int
}

// testLink is the truth about one link: its state and the sequence of the
// event that created it.
type testLink struct {
	domain.Link
	createdSeq uint64
}

func newStream(tb testing.TB) *stream {
	return &stream{tb: tb, links: map[string]*testLink{}}
}

func key(mode events.Mode, id string) string { return string(mode) + "/" + id }

// do decides cmd on the link's state at now and appends the events.
func (s *stream) do(mode events.Mode, id string, cmd domain.Command, now time.Time) {
	s.tb.Helper()
	tl := s.links[key(mode, id)]
	if tl == nil {
		tl = &testLink{Link: domain.Link{ID: id, Mode: mode}}
	}
	ps, err := domain.Decide(tl.Link, cmd, now)
	if err != nil {
		s.tb.Fatalf("decide %T on %s: %v", cmd, id, err)
	}
	ids := make([]string, len(ps))
	for i := range ids {
		s.evt++
		ids[i] = fmt.Sprintf("evt_%d", s.evt)
	}
	evs, next := domain.Seal(id, mode, tl.Link, ps, now, events.Audit{Actor: "api"}, ids)
	for _, e := range evs {
		data, err := events.Marshal(e)
		if err != nil {
			s.tb.Fatal(err)
		}
		s.add(events.Subject(mode, id), data)
	}
	if tl.Version == 0 && next.Version > 0 {
		tl.createdSeq = s.seq() - uint64(len(evs)) + 1
		s.links[key(mode, id)] = tl
		s.order = append(s.order, tl)
	}
	tl.Link = next
}

// raw appends data as the next record, with no subject.
func (s *stream) raw(data []byte) { s.add("", data) }

// add appends data on subject as the next record.
func (s *stream) add(subject string, data []byte) {
	s.recs = append(s.recs, events.Record{Seq: s.seq() + 1, Subject: subject, Data: data})
}

func (s *stream) seq() uint64 { return uint64(len(s.recs)) }

// testToken is the token stream.create gives a link: its id and a secret
// derived from its mode and id (domain.LinkToken).
func testToken(mode events.Mode, id string) string {
	sum := sha256.Sum256([]byte(string(mode) + "/" + id))
	return domain.LinkToken(id, base64.RawURLEncoding.EncodeToString(sum[:]))
}

// create makes a link to fileID created at now; expires may be nil.
func (s *stream) create(mode events.Mode, id, fileID string, now time.Time, expires *time.Time, md map[string]string) {
	s.tb.Helper()
	s.do(mode, id, domain.CreateLink{
		Mode:      mode,
		LinkID:    id,
		Token:     testToken(mode, id),
		File:      domain.File{ID: fileID, Found: true, Mode: mode, Purpose: "dispute_evidence"},
		ExpiresAt: expires,
		Metadata:  domain.MetadataPatch{Set: md},
	}, now)
}

func (s *stream) update(mode events.Mode, id string, now time.Time, u domain.UpdateLink) {
	s.tb.Helper()
	s.do(mode, id, u, now)
}

// expire sends the expirer's command at the link's deadline.
func (s *stream) expire(mode events.Mode, id string) {
	s.tb.Helper()
	l := s.links[key(mode, id)]
	s.do(mode, id, domain.ExpireLink{Deadline: *l.ExpiresAt}, *l.ExpiresAt)
}

func (s *stream) delete(mode events.Mode, id string, now time.Time) {
	s.tb.Helper()
	s.do(mode, id, domain.DeleteLink{}, now)
}

func (s *stream) get(mode events.Mode, id string) *testLink { return s.links[key(mode, id)] }

// file appends the FileCreated event of a new file and returns its state.
func (s *stream) file(mode events.Mode, id, purpose string, created time.Time) events.FileState {
	s.tb.Helper()
	s.evt++
	f := events.FileState{ID: id, Mode: mode, Purpose: purpose, Filename: id + ".pdf", Size: 42,
		ContentType: "application/pdf", Type: "pdf", SHA256: "00ff", Created: created}
	data, err := events.MarshalFile(events.FileEvent{ID: fmt.Sprintf("evt_%d", s.evt), FileID: id, Mode: mode,
		Time: created, Audit: events.Audit{Actor: "api"}, File: f})
	if err != nil {
		s.tb.Fatal(err)
	}
	s.add(events.FileSubject(mode, id), data)
	return f
}

// openStore opens a store in a fresh file of the test's temp dir.
func openStore(tb testing.TB, opts Options) (*Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "links.db")
	s, err := Open(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s, path
}

// applyAll applies recs in batches of size n.
func applyAll(tb testing.TB, s *Store, recs []events.Record, n int) {
	tb.Helper()
	for len(recs) > 0 {
		k := min(n, len(recs))
		if err := s.Apply(recs[:k]); err != nil {
			tb.Fatalf("apply seq %d..%d: %v", recs[0].Seq, recs[k-1].Seq, err)
		}
		recs = recs[k:]
	}
}

func digest(tb testing.TB, s *Store) string {
	tb.Helper()
	d, err := s.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// sameLink compares two links through their event snapshot, which makes
// times compare by instant and nil metadata equal to empty.
func sameLink(a, b domain.Link) bool {
	ja, _ := json.Marshal(a.State())
	jb, _ := json.Marshal(b.State())
	return string(ja) == string(jb)
}

func ptr[T any](v T) *T { return &v }

// errCode returns the code, reason and param of a *domain.Error.
func errCode(err error) (domain.Code, string, string) {
	e := domain.AsError(err)
	if e == nil {
		return "", "", ""
	}
	return e.Code, e.Reason, e.Param
}
