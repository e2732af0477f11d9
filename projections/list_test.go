package projections

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// listStream is the data set of the list tests: links of both modes on five
// files, three created at each instant, with expiries that pass at
// different times, some expired by event and some deleted; and the oldest
// link of each mode is deleted, to serve as a cursor.
func listStream(tb testing.TB) *stream {
	st := newStream(tb)
	for _, mode := range []events.Mode{events.ModeLive, events.ModeTest} {
		st.create(mode, "link_oldest", "file_0", base.Add(-time.Hour), nil, nil)
		st.delete(mode, "link_oldest", base)
	}
	for i := range 240 {
		mode := events.ModeLive
		if i%4 == 3 {
			mode = events.ModeTest
		}
		id := fmt.Sprintf("link_%03d", i)
		at := base.Add(time.Duration(i/3) * time.Minute)
		var exp *time.Time
		switch i % 7 {
		case 0, 1, 2:
			exp = ptr(at.Add(time.Duration(1+i%5) * time.Hour)) // passes by clock
		case 3:
			exp = ptr(base.Add(time.Duration(i) * time.Hour))
		}
		st.create(mode, id, fmt.Sprintf("file_%d", i%5), at, exp, nil)
		switch {
		case i%11 == 0 && exp != nil:
			st.expire(mode, id)
		case i%13 == 1:
			st.update(mode, id, at, domain.UpdateLink{Expiry: domain.ExpiryNow})
		case i%17 == 2:
			st.delete(mode, id, at)
		case i%19 == 4:
			st.update(mode, id, at, domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: base.Add(90 * time.Minute)})
		case i%23 == 5 && exp != nil:
			st.update(mode, id, at, domain.UpdateLink{Expiry: domain.ExpiryClear})
		}
	}
	return st
}

func TestStore_List(t *testing.T) {
	t.Run("SkipSet", func(t *testing.T) { testList(t) })
	t.Run("ClockCheck", func(t *testing.T) {
		// expired=false checks each candidate's deadline when the
		// expirer's backlog is too large to collect.
		defer func(n int) { maxSkipSet = n }(maxSkipSet)
		maxSkipSet = 0
		testList(t)
	})
}

func testList(t *testing.T) {
	st := listStream(t)
	s, _ := openStore(t, Options{})
	applyAll(t, s, st.recs, 37)
	live := events.ModeLive
	nows := []time.Time{base, base.Add(2 * time.Hour), base.Add(2*time.Hour - time.Nanosecond), base.Add(400 * time.Hour)}
	at := func(minutes int) *time.Time { return ptr(base.Add(time.Duration(minutes) * time.Minute)) }

	t.Run("Order", func(t *testing.T) {
		// link_048..050 were created at the same instant, in this order.
		p := check(t, s, st, domain.ListQuery{Mode: live, CreatedFrom: at(16), CreatedBefore: at(17), Now: base})
		if got := idsOf(matching(st, domain.ListQuery{Mode: live, CreatedFrom: at(16), CreatedBefore: at(17)})); !slices.Equal(got, []string{"link_050", "link_049", "link_048"}) {
			t.Fatalf("test data: %v", got)
		}
		if len(p.Links) != 3 || p.Links[0].ID != "link_050" || p.Links[2].ID != "link_048" {
			t.Errorf("tie order: %+v", p.Links)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		for _, now := range nows {
			for _, file := range []string{"", "file_2", "file_nope"} {
				for _, expired := range []*bool{nil, ptr(true), ptr(false)} {
					for _, from := range []*time.Time{nil, at(10), ptr(at(10).Add(time.Nanosecond))} {
						for _, before := range []*time.Time{nil, at(40), at(41)} {
							q := domain.ListQuery{Mode: live, FileID: file, Expired: expired, CreatedFrom: from,
								CreatedBefore: before, Limit: 100, Now: now}
							check(t, s, st, q)
							q.Mode = events.ModeTest
							check(t, s, st, q)
						}
					}
				}
			}
		}
	})
	t.Run("CreatedBounds", func(t *testing.T) {
		// link_048..050 were created at minute 16: From is inclusive,
		// Before exclusive.
		p := check(t, s, st, domain.ListQuery{Mode: live, CreatedFrom: at(16), CreatedBefore: at(17), Now: base})
		if len(p.Links) != 3 {
			t.Errorf("got %d links created in [16m, 17m), want 3", len(p.Links))
		}
		p = check(t, s, st, domain.ListQuery{Mode: live, CreatedFrom: ptr(at(15).Add(time.Nanosecond)), CreatedBefore: at(16), Now: base})
		if len(p.Links) != 0 || p.HasMore {
			t.Errorf("got %d links created in (15m, 16m), want 0", len(p.Links))
		}
		p = check(t, s, st, domain.ListQuery{Mode: live, CreatedFrom: at(16), CreatedBefore: at(16), Now: base})
		if len(p.Links) != 0 || p.HasMore {
			t.Errorf("empty range gave %d links", len(p.Links))
		}
	})
	t.Run("IDs", func(t *testing.T) {
		ids := []string{"link_000", "link_003", "link_002", "link_019", "link_nope", "link_oldest", "link_100", "link_002", "link_101"}
		for _, now := range nows {
			for _, expired := range []*bool{nil, ptr(true), ptr(false)} {
				q := domain.ListQuery{Mode: live, IDs: ids, Expired: expired, Now: now, Limit: 2}
				pageThrough(t, s, st, q, false, "")
				pageThrough(t, s, st, q, true, "link_oldest")
				q.FileID = "file_0"
				check(t, s, st, q)
				q.FileID, q.CreatedFrom = "", at(1)
				check(t, s, st, q)
			}
		}
		_, err := s.List(domain.ListQuery{Mode: live, IDs: make([]string, domain.MaxListLimit+1)})
		if code, reason, param := errCode(err); code != domain.EINVALID || reason != domain.ReasonInvalidParam || param != "ids" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		for _, limit := range []int{1, 3, 10, 100} {
			for _, expired := range []*bool{nil, ptr(true), ptr(false)} {
				for _, file := range []string{"", "file_1"} {
					q := domain.ListQuery{Mode: live, FileID: file, Expired: expired, Limit: limit, Now: nows[1]}
					want := idsOf(matching(st, q))
					if fwd := pageThrough(t, s, st, q, false, ""); !slices.Equal(fwd, want) {
						t.Errorf("forward walk limit %d: got %v, want %v", limit, fwd, want)
					}
					if back := pageThrough(t, s, st, q, true, "link_oldest"); !slices.Equal(back, want) {
						t.Errorf("backward walk limit %d: got %v, want %v", limit, back, want)
					}
					q.CreatedFrom, q.CreatedBefore = at(5), at(50)
					pageThrough(t, s, st, q, false, "")
					pageThrough(t, s, st, q, true, "link_oldest")
				}
			}
		}
	})
	t.Run("Limit", func(t *testing.T) {
		for limit, want := range map[int]int{0: 10, -3: 10, 1: 1, 100: 100, 101: 100, 1000: 100} {
			p := check(t, s, st, domain.ListQuery{Mode: live, Limit: limit, Now: base})
			if len(p.Links) != want || !p.HasMore {
				t.Errorf("limit %d: %d links, has_more %v", limit, len(p.Links), p.HasMore)
			}
		}
	})
	t.Run("DeletedCursor", func(t *testing.T) {
		deleted := "link_036" // 36%17 == 2
		if st.get(live, deleted).DeletedAt == nil {
			t.Fatal("test data: link_036 is not deleted")
		}
		for _, q := range []domain.ListQuery{
			{Mode: live, StartingAfter: deleted, Limit: 5, Now: base},
			{Mode: live, EndingBefore: deleted, Limit: 5, Now: base},
			{Mode: live, StartingAfter: "link_oldest", Now: base},
		} {
			check(t, s, st, q)
		}
	})
	t.Run("ErrInvalidCursor", func(t *testing.T) {
		for _, c := range []struct{ after, before, param, id string }{
			{after: "link_nope", param: "starting_after", id: "link_nope"},
			{before: "link_nope", param: "ending_before", id: "link_nope"},
			{after: "link_003", param: "starting_after", id: "link_003"}, // a test-mode link
		} {
			_, err := s.List(domain.ListQuery{Mode: live, StartingAfter: c.after, EndingBefore: c.before})
			e := domain.AsError(err)
			if e == nil || e.Code != domain.EINVALID || e.Reason != ReasonInvalidCursor || e.Param != c.param ||
				e.Message != "No such file link: '"+c.id+"'" {
				t.Errorf("err = %v", err)
			}
		}
	})
	t.Run("ErrBothCursors", func(t *testing.T) {
		_, err := s.List(domain.ListQuery{Mode: live, StartingAfter: "link_001", EndingBefore: "link_002"})
		if code, reason, param := errCode(err); code != domain.EINVALID || reason != domain.ReasonInvalidParam || param != "ending_before" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrMode", func(t *testing.T) {
		if _, err := s.List(domain.ListQuery{}); !errors.Is(err, ErrMode) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ExpiredByClock", func(t *testing.T) {
		// link_008 (on file_3) expires by clock only: no LinkExpired.
		l := st.get(live, "link_008")
		if l.ExpiredAt != nil || l.ExpiresAt == nil || l.FileID != "file_3" {
			t.Fatal("test data: link_008 should expire by clock only")
		}
		deadline := *l.ExpiresAt
		for _, c := range []struct {
			now     time.Time
			expired bool
		}{{deadline.Add(-time.Nanosecond), false}, {deadline, true}, {deadline.Add(time.Second), true}} {
			for _, want := range []bool{true, false} {
				for _, file := range []string{"", "file_3"} {
					p := check(t, s, st, domain.ListQuery{Mode: live, FileID: file, Expired: ptr(want), CreatedBefore: at(3), Now: c.now})
					has := slices.ContainsFunc(p.Links, func(l domain.Link) bool { return l.ID == "link_008" })
					if has != (want == c.expired) {
						t.Errorf("now=%s expired=%v file=%q: link_008 listed %v", c.now, want, file, has)
					}
				}
			}
		}
	})
	t.Run("Random", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		pick := func(opts ...string) string { return opts[r.IntN(len(opts))] }
		for range 3000 {
			q := domain.ListQuery{Mode: live, Limit: r.IntN(8), Now: nows[r.IntN(len(nows))]}
			if r.IntN(4) == 0 {
				q.Mode = events.ModeTest
			}
			if r.IntN(3) == 0 {
				q.FileID = fmt.Sprintf("file_%d", r.IntN(6))
			}
			if n := r.IntN(3); n > 0 {
				q.Expired = ptr(n == 1)
			}
			if r.IntN(3) == 0 {
				q.CreatedFrom = at(r.IntN(90) - 5)
			}
			if r.IntN(3) == 0 {
				q.CreatedBefore = at(r.IntN(90) - 5)
			}
			if r.IntN(4) == 0 {
				for range r.IntN(12) {
					q.IDs = append(q.IDs, fmt.Sprintf("link_%03d", r.IntN(250)))
				}
			}
			switch r.IntN(3) {
			case 1:
				q.StartingAfter = pick(fmt.Sprintf("link_%03d", r.IntN(250)), "link_oldest")
			case 2:
				q.EndingBefore = pick(fmt.Sprintf("link_%03d", r.IntN(250)), "link_oldest")
			}
			check(t, s, st, q)
		}
	})
}
