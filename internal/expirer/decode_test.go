package expirer

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/filelinks/filelinks/events"
)

// TestDecode: what the unmarshaler makes of a JetStream message is what
// handle needs to decode it (position, change, error), for a link event
// with a deadline, a malformed one and a message of another subject.
func TestDecode(t *testing.T) {
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	at := deadline.Add(-time.Hour)
	ev := events.Event{
		Envelope: events.Envelope{ID: "evt_1", LinkID: "link_a", Mode: events.ModeTest, Version: 1, Time: at,
			Audit: events.Audit{Actor: "api"},
			Link: events.LinkState{ID: "link_a", Mode: events.ModeTest, FileID: "file_1", Token: "tok", Created: at,
				ExpiresAt: &deadline, Version: 1}},
		Payload: events.LinkCreated{FileID: "file_1", Token: "tok", ExpiresAt: &deadline},
	}
	created, err := events.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, subject string
		data          []byte
		isLink        bool
		malformed     bool
	}{
		{"Created", events.Subject(events.ModeTest, "link_a"), created, true, false},
		{"Malformed", events.Subject(events.ModeTest, "link_a"), []byte(`{"schema":1,`), true, true},
		{"File", events.FileSubject(events.ModeTest, "file_1"), []byte(`{}`), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &nats.Msg{Subject: c.subject, Data: c.data, Sub: &nats.Subscription{},
				Reply: "$JS.ACK.FILELINKS_EVENTS.expirer.1.41.7.1790000000000000000.0"}
			msg, err := unmarshaler{}.Unmarshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got := decode(msg)
			switch {
			case got.pos != (position{stream: 41, consumer: 7}) || !got.posOK:
				t.Fatalf("position %+v %v, want stream 41 consumer 7", got.pos, got.posOK)
			case got.isLink != c.isLink:
				t.Fatalf("isLink %v, want %v", got.isLink, c.isLink)
			case errors.Is(got.err, events.ErrMalformed) != c.malformed || (got.err != nil) != c.malformed:
				t.Fatalf("err %v, malformed want %v", got.err, c.malformed)
			}
			if c.name == "Created" && (got.change.LinkID != "link_a" || got.change.Deadline == nil ||
				!got.change.Deadline.Equal(deadline) || got.change.Seq != 41) {
				t.Fatalf("change %+v, want link_a due %v at seq 41", got.change, deadline)
			}
		})
	}
}
