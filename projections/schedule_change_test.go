package projections

import (
	"errors"
	"strings"
	"testing"

	"github.com/filelinks/filelinks/events"
)

// TestScheduleChangeOf: the schedule reads a link event as the contract's
// decoder does: the same error, or the link and the deadline its state
// says, for the events the service writes and for variants that are
// unsupported, malformed, or read only by encoding/json.
func TestScheduleChangeOf(t *testing.T) {
	st := messy(t)
	created := string(st.recs[0].Data)
	id := st.order[0].ID
	edit := func(old, new string) []byte {
		if !strings.Contains(created, old) {
			t.Fatalf("event has no %q: %s", old, created)
		}
		return []byte(strings.ReplaceAll(created, old, new))
	}
	inputs := [][]byte{
		edit(`"schema":1`, `"schema":2`),
		edit(`"type":"LinkCreated"`, `"type":"LinkRenamed"`),
		edit(`"`+id+`"`, `"link id"`),
		edit(`"actor":"api"`, `"actor":"\u0061pi"`),
		edit(`"mode":"`, `"mode":"x`),
		[]byte("{not json"),
	}
	for _, r := range st.recs {
		if !events.IsFileSubject(r.Subject) {
			inputs = append(inputs, r.Data)
		}
	}
	for _, b := range inputs {
		sameScheduleChange(t, b)
	}
	if _, ok, err := ScheduleChangeOf(events.Record{Subject: events.FileSubject(events.ModeLive, "file_1"), Data: []byte("{}")}); ok || err != nil {
		t.Errorf("ScheduleChangeOf of a file event: ok %v, err %v", ok, err)
	}
}

// sameScheduleChange fails unless ScheduleChangeOf returns what the
// contract's decoder implies: the same error, or the same link and
// deadline.
func sameScheduleChange(t *testing.T, b []byte) {
	t.Helper()
	const seq = 7
	rec := events.Record{Seq: seq, Subject: events.SubjectPrefix + ".test.link_x", Data: b}
	got, ok, gerr := ScheduleChangeOf(rec)
	if !ok {
		t.Fatalf("ScheduleChangeOf(%s) took a link subject for another", b)
	}
	env, werr := events.UnmarshalEnvelope(b)
	var want ScheduleChange
	switch {
	case errors.Is(werr, events.ErrUnsupported):
		want, werr = ScheduleChange{Seq: seq, Unsupported: true}, nil
	case werr == nil:
		if _, valid := schedLinkKey(env.Mode, env.LinkID); !valid {
			if gerr == nil || !errors.Is(gerr, events.ErrMalformed) {
				t.Fatalf("ScheduleChangeOf(%s): err %v, want a malformed link id", b, gerr)
			}
			return
		}
		want = ScheduleChange{Seq: seq, Mode: env.Mode, LinkID: env.LinkID, First: env.Version == 1}
		if l := env.Link; l.ExpiresAt != nil && l.ExpiredAt == nil && l.DeletedAt == nil {
			want.Deadline = l.ExpiresAt
		}
	}
	switch {
	case (werr == nil) != (gerr == nil):
		t.Fatalf("ScheduleChangeOf(%s): err %v, contract's err %v", b, gerr, werr)
	case werr != nil:
		if !strings.HasSuffix(gerr.Error(), werr.Error()) || !errors.Is(gerr, events.ErrMalformed) {
			t.Fatalf("ScheduleChangeOf(%s): err %v, contract's err %v", b, gerr, werr)
		}
	case got.Seq != want.Seq || got.Mode != want.Mode || got.LinkID != want.LinkID || got.Unsupported != want.Unsupported ||
		got.First != want.First ||
		(got.Deadline == nil) != (want.Deadline == nil) || got.Deadline != nil && !got.Deadline.Equal(*want.Deadline):
		t.Fatalf("ScheduleChangeOf(%s)\n got %+v\nwant %+v", b, got, want)
	}
}
