package projections

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
)

// newer orders test links like the store: by created time, then by the
// sequence of the creating event.
func newer(a, b *testLink) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return cmp.Compare(a.createdSeq, b.createdSeq)
}

// matching returns every link that q's filters keep, newest first,
// ignoring the cursors and the limit.
func matching(st *stream, q domain.ListQuery) []*testLink {
	var all []*testLink
	for _, tl := range st.order {
		switch {
		case tl.Mode != q.Mode, tl.DeletedAt != nil,
			q.FileID != "" && tl.FileID != q.FileID,
			q.Expired != nil && tl.Expired(q.Now) != *q.Expired,
			q.CreatedFrom != nil && tl.Created.Before(*q.CreatedFrom),
			q.CreatedBefore != nil && !tl.Created.Before(*q.CreatedBefore),
			len(q.IDs) > 0 && !slices.Contains(q.IDs, tl.ID):
			continue
		}
		all = append(all, tl)
	}
	slices.SortFunc(all, func(a, b *testLink) int { return newer(b, a) })
	return all
}

func idsOf(tls []*testLink) []string {
	var ids []string
	for _, tl := range tls {
		ids = append(ids, tl.ID)
	}
	return ids
}

// expect computes the page q asks for by brute force over every link.
func expect(st *stream, q domain.ListQuery) (ids []string, hasMore bool, err error) {
	if q.StartingAfter != "" && q.EndingBefore != "" {
		return nil, false, bothCursors()
	}
	limit := q.Limit
	if limit < 1 {
		limit = 10
	}
	limit = min(limit, 100)
	all := matching(st, q)
	cursor := func(id, param string) (*testLink, error) {
		if tl := st.get(q.Mode, id); tl != nil {
			return tl, nil
		}
		return nil, invalidCursor(param, id)
	}
	var page []*testLink
	switch {
	case q.StartingAfter != "":
		c, err := cursor(q.StartingAfter, "starting_after")
		if err != nil {
			return nil, false, err
		}
		i := slices.IndexFunc(all, func(tl *testLink) bool { return newer(tl, c) < 0 })
		if i >= 0 {
			page = all[i:]
		}
		hasMore, page = len(page) > limit, page[:min(limit, len(page))]
	case q.EndingBefore != "":
		c, err := cursor(q.EndingBefore, "ending_before")
		if err != nil {
			return nil, false, err
		}
		i := slices.IndexFunc(all, func(tl *testLink) bool { return newer(tl, c) <= 0 })
		page = all
		if i >= 0 {
			page = all[:i]
		}
		hasMore, page = len(page) > limit, page[max(0, len(page)-limit):]
	default:
		hasMore, page = len(all) > limit, all[:min(limit, len(all))]
	}
	return idsOf(page), hasMore, nil
}

// check compares List(q) with the brute-force answer.
func check(t *testing.T, s *Store, st *stream, q domain.ListQuery) domain.Page {
	t.Helper()
	wantIDs, wantMore, wantErr := expect(st, q)
	p, err := s.List(q)
	if wantErr != nil {
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("%s: err = %v, want %v", describe(q), err, wantErr)
		}
		return p
	}
	if err != nil {
		t.Fatalf("%s: %v", describe(q), err)
	}
	var got []string
	for _, l := range p.Links {
		got = append(got, l.ID)
		if want := st.get(q.Mode, l.ID); !sameLink(l, want.Link) {
			t.Errorf("%s: link %s = %+v, want %+v", describe(q), l.ID, l, want.Link)
		}
	}
	if !slices.Equal(got, wantIDs) || p.HasMore != wantMore {
		t.Fatalf("%s:\n got %v has_more=%v\nwant %v has_more=%v", describe(q), got, p.HasMore, wantIDs, wantMore)
	}
	if p.HasMore && len(p.Links) == 0 {
		t.Fatalf("%s: has_more with no links", describe(q))
	}
	return p
}

func describe(q domain.ListQuery) string {
	s := fmt.Sprintf("mode=%s file=%q limit=%d after=%q before=%q ids=%d now=%s",
		q.Mode, q.FileID, q.Limit, q.StartingAfter, q.EndingBefore, len(q.IDs), q.Now.Format(time.TimeOnly))
	if q.Expired != nil {
		s += fmt.Sprintf(" expired=%v", *q.Expired)
	}
	if q.CreatedFrom != nil {
		s += " from=" + q.CreatedFrom.Format(time.TimeOnly)
	}
	if q.CreatedBefore != nil {
		s += " before=" + q.CreatedBefore.Format(time.TimeOnly)
	}
	return s
}

// pageThrough pages through q with starting_after (forwards) or, from the cursor
// link from, with ending_before (backwards), and returns every id newest
// first.
func pageThrough(t *testing.T, s *Store, st *stream, q domain.ListQuery, backwards bool, from string) []string {
	t.Helper()
	var ids []string
	if backwards {
		q.EndingBefore = from
	}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		p := check(t, s, st, q)
		var page []string
		for _, l := range p.Links {
			page = append(page, l.ID)
		}
		if backwards {
			ids = append(page, ids...)
		} else {
			ids = append(ids, page...)
		}
		if !p.HasMore {
			return ids
		}
		if backwards {
			q.EndingBefore = page[0]
		} else {
			q.StartingAfter = page[len(page)-1]
		}
	}
}
