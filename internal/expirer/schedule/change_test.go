package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

// sameAsContract fails unless ChangeOf reads b, stored on a link subject,
// as the contract's decoder (events.UnmarshalEnvelope) implies: the same
// error, or the same link and deadline.
func sameAsContract(t *testing.T, b []byte) {
	t.Helper()
	const seq = 7
	rec := events.Record{Seq: seq, Subject: events.SubjectPrefix + ".test.link_x", Data: b}
	got, ok, gerr := schedule.ChangeOf(rec)
	if !ok {
		t.Fatalf("ChangeOf(%s) took a link subject for another", b)
	}
	env, werr := events.UnmarshalEnvelope(b)
	var want schedule.Change
	switch {
	case errors.Is(werr, events.ErrUnsupported):
		want, werr = schedule.Change{Seq: seq, Unsupported: true}, nil
	case werr == nil:
		if (env.Mode != events.ModeTest && env.Mode != events.ModeLive) || !domain.ValidID(env.LinkID) {
			if gerr == nil || !errors.Is(gerr, events.ErrMalformed) {
				t.Fatalf("ChangeOf(%s): err %v, want a malformed link id", b, gerr)
			}
			return
		}
		want = schedule.Change{Seq: seq, Mode: env.Mode, LinkID: env.LinkID, First: env.Version == 1}
		if l := env.Link; l.ExpiresAt != nil && l.ExpiredAt == nil && l.DeletedAt == nil {
			want.Deadline = l.ExpiresAt
		}
	}
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("ChangeOf(%s): err %v, contract's err %v", b, gerr, werr)
	case werr != nil:
		if !strings.HasSuffix(gerr.Error(), werr.Error()) || !errors.Is(gerr, events.ErrMalformed) {
			t.Fatalf("ChangeOf(%s): err %v, contract's err %v", b, gerr, werr)
		}
	case got.Seq != want.Seq || got.Mode != want.Mode || got.LinkID != want.LinkID || got.Unsupported != want.Unsupported ||
		got.First != want.First ||
		(got.Deadline == nil) != (want.Deadline == nil) || got.Deadline != nil && !got.Deadline.Equal(*want.Deadline):
		t.Fatalf("ChangeOf(%s)\n got %+v\nwant %+v", b, got, want)
	}
}

// changeSeeds are link events of every kind and expiry state, as the
// service encodes them, then variants the contract refuses or leaves
// unsupported.
func changeSeeds(tb testing.TB) [][]byte {
	f := newFeed(tb)
	recs := []events.Record{
		f.link(events.LinkCreated{}, "link_a", at(time.Second), nil, nil),
		f.link(events.LinkUpdated{}, "link_a", at(time.Hour), nil, nil),
		f.link(events.LinkUpdated{}, "link_a", nil, nil, nil),
		f.link(events.LinkCreated{}, "link_b", nil, nil, nil),
		f.link(events.LinkExpired{}, "link_c", at(time.Second), at(time.Second), nil),
		f.link(events.LinkDeleted{}, "link_d", at(time.Second), nil, at(time.Second)),
	}
	var seeds [][]byte
	for _, r := range recs {
		seeds = append(seeds, r.Data)
	}
	created := string(seeds[0])
	edit := func(old, new string) []byte {
		if !strings.Contains(created, old) {
			tb.Fatalf("seed has no %q: %s", old, created)
		}
		return []byte(strings.Replace(created, old, new, 1))
	}
	return append(seeds,
		edit(`"schema":1`, `"schema":2`),
		edit(`"schema":1`, `"schema":"1"`),
		edit(`"type":"LinkCreated"`, `"type":"LinkTeleported"`),
		edit(`"mode":"live"`, `"mode":"prod"`),
		edit(`"link_id":"link_a"`, `"link_id":"link a"`),
		edit(`"version":1`, `"version":0`),
		edit(`"expired_at":null`, `"expired_at":"2030-01-01T12:00:01Z"`),
		edit(`"expires_at":"`, `"expires_at":1,"x":"`),
		[]byte(created[:len(created)/2]),
		[]byte("null"),
		[]byte("{}"),
		[]byte(""),
	)
}

func TestChangeOf(t *testing.T) {
	for _, b := range changeSeeds(t) {
		sameAsContract(t, b)
	}
	t.Run("FileSubject", func(t *testing.T) {
		rec := events.Record{Seq: 3, Subject: events.FileSubject(events.ModeLive, "file_1"), Data: []byte(`{"schema":1,"type":"FileCreated"}`)}
		if c, ok, err := schedule.ChangeOf(rec); ok || err != nil || c != (schedule.Change{}) {
			t.Fatalf("ChangeOf(a file event) = %+v, %v, %v; want nothing", c, ok, err)
		}
	})
}

// FuzzChangeOf: ChangeOf reads any input as the contract's decoder does.
//
//	go test ./internal/expirer/schedule -run X -fuzz ChangeOf
func FuzzChangeOf(f *testing.F) {
	for _, b := range changeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsContract(t, b)
	})
}
