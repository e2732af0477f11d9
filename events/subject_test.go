package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/events"
)

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		mode events.Mode
		id   string
		want string
	}{
		{events.ModeLive, "link_1", "filelinks.links.live.link_1"},
		{events.ModeTest, "link_AbC-9_z", "filelinks.links.test.link_AbC-9_z"},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			if got := events.Subject(tc.mode, tc.id); got != tc.want {
				t.Fatalf("Subject(%q, %q) = %q, want %q", tc.mode, tc.id, got, tc.want)
			}
			for _, class := range []string{events.ClassExpiry, events.ClassOther} {
				got := events.SubjectOf(tc.mode, tc.id, class)
				if got != tc.want+"."+class {
					t.Fatalf("SubjectOf(%q, %q, %q) = %q", tc.mode, tc.id, class, got)
				}
				if !subjectMatches(events.SubjectAll, got) || !subjectMatches(events.LinkFilter(tc.mode, tc.id), got) ||
					subjectMatches(events.SubjectsExpiry, got) != (class == events.ClassExpiry) {
					t.Errorf("filters disagree on %q", got)
				}
				if subjectMatches(events.LinkFilter(tc.mode, tc.id+"x"), got) {
					t.Errorf("another link's filter matches %q", got)
				}
			}
			// The stem alone is no event's subject: no link or class filter
			// matches it.
			if stem := events.Subject(tc.mode, tc.id); subjectMatches(events.LinkFilter(tc.mode, tc.id), stem) || subjectMatches(events.SubjectsExpiry, stem) {
				t.Errorf("a filter matches the stem %q", stem)
			}
		})
	}
	if events.SubjectAll != "filelinks.links.>" {
		t.Errorf("SubjectAll = %q", events.SubjectAll)
	}
}

// subjectMatches reports whether NATS delivers subject to a subscription
// on filter.
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		switch {
		case tok == ">":
			return len(s) > i
		case i >= len(s):
			return false
		case tok != "*" && tok != s[i]:
			return false
		}
	}
	return len(f) == len(s)
}

// TestClassOf: only a create without an expiry and an update that leaves
// the expiry alone are of class other.
func TestClassOf(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		p    events.Payload
		want string
	}{
		{events.LinkCreated{FileID: "file_1"}, events.ClassOther},
		{events.LinkCreated{FileID: "file_1", ExpiresAt: &at}, events.ClassExpiry},
		{events.LinkUpdated{MetadataSet: map[string]string{"k": "v"}}, events.ClassOther},
		{events.LinkUpdated{MetadataCleared: true}, events.ClassOther},
		{events.LinkUpdated{ExpiresAt: &at}, events.ClassExpiry},
		{events.LinkUpdated{ExpiresAtCleared: true, MetadataUnset: []string{"k"}}, events.ClassExpiry},
		{events.LinkExpired{Reason: events.ReasonDeadline, Deadline: at}, events.ClassExpiry},
		{events.LinkDeleted{}, events.ClassExpiry},
		{&events.LinkCreated{}, events.ClassOther},
		{&events.LinkUpdated{ExpiresAt: &at}, events.ClassExpiry},
	} {
		if got := events.ClassOf(tc.p); got != tc.want {
			t.Errorf("ClassOf(%#v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
