package domain_test

import (
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
)

func TestChange_After(t *testing.T) {
	state, evs := given(t, createdAt(nil, nil), step{Cmd: domain.UpdateLink{Expiry: domain.ExpiryNow}, At: t0.Add(time.Minute)})
	before := domain.FromState(evs[0].Link)
	for _, tc := range []struct {
		name   string
		change domain.Change
		want   uint64
	}{
		{name: "NoEvents", change: domain.Change{Before: before}, want: 1},
		{name: "Events", change: domain.Change{Before: before, Events: evs[1:]}, want: state.Version},
		{name: "Created", change: domain.Change{Before: domain.Link{ID: testLinkID, Mode: testMode}, Events: evs[:1]}, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.change.After(); got.Version != tc.want || got.ID != testLinkID {
				t.Errorf("After() = %+v, want version %d", got, tc.want)
			}
		})
	}
	if after := (domain.Change{Before: before, Events: evs[1:]}).After(); after.ExpiredAt == nil {
		t.Errorf("After() lost the expiry: %+v", after)
	}
}
