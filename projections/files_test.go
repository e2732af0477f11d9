package projections

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// testFile is the truth about one file.
type testFile struct {
	events.FileState
	seq uint64
}

func filesStream(t *testing.T) (*stream, []testFile) {
	st := newStream(t)
	var files []testFile
	purposes := []string{"dispute_evidence", "business_logo", "pci_document"}
	for i := range 90 {
		mode := events.ModeLive
		if i%4 == 3 {
			mode = events.ModeTest
		}
		f := st.file(mode, fmt.Sprintf("file_%03d", i), purposes[i%3], base.Add(time.Duration(i/3)*time.Minute))
		files = append(files, testFile{FileState: f, seq: st.seq()})
		if i%10 == 0 {
			st.create(mode, fmt.Sprintf("link_%03d", i), f.ID, f.Created, nil, nil)
		}
	}
	return st, files
}

// expectFiles computes a page of files by brute force.
func expectFiles(files []testFile, q domain.FileQuery) ([]string, bool) {
	limit := min(max(q.Limit, 0), 100)
	if limit == 0 {
		limit = 10
	}
	newer := func(a, b testFile) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return int(a.seq) - int(b.seq)
	}
	var cursor *testFile
	for i := range files {
		if files[i].Mode == q.Mode && (files[i].ID == q.StartingAfter || files[i].ID == q.EndingBefore) {
			cursor = &files[i]
		}
	}
	var all []testFile
	for _, f := range files {
		switch {
		case f.Mode != q.Mode, q.Purpose != "" && f.Purpose != q.Purpose,
			q.CreatedFrom != nil && f.Created.Before(*q.CreatedFrom),
			q.CreatedBefore != nil && !f.Created.Before(*q.CreatedBefore),
			q.StartingAfter != "" && newer(f, *cursor) >= 0,
			q.EndingBefore != "" && newer(f, *cursor) <= 0:
			continue
		}
		all = append(all, f)
	}
	slices.SortFunc(all, func(a, b testFile) int { return newer(b, a) })
	more := len(all) > limit
	if q.EndingBefore != "" {
		all = all[max(0, len(all)-limit):]
	} else {
		all = all[:min(limit, len(all))]
	}
	var ids []string
	for _, f := range all {
		ids = append(ids, f.ID)
	}
	return ids, more
}

func TestStore_GetFile(t *testing.T) {
	st, files := filesStream(t)
	s, _ := openStore(t, Options{})
	applyAll(t, s, st.recs, 7)
	t.Run("OK", func(t *testing.T) {
		got, err := s.GetFile(events.ModeLive, "file_001")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, files[1].FileState) {
			t.Errorf("got %+v, want %+v", got, files[1].FileState)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, id := range []string{"file_003", "file_nope"} { // file_003 is a test-mode file
			_, err := s.GetFile(events.ModeLive, id)
			if e := domain.AsError(err); e == nil || e.Code != domain.ENOTFOUND || e.Reason != domain.ReasonFileNotFound ||
				e.Message != "No such file: '"+id+"'" {
				t.Errorf("err = %v", err)
			}
		}
	})
	t.Run("Cached", func(t *testing.T) {
		// A file not found is not remembered: once applied, it is found;
		// and the copy kept is the one read the first time.
		st := newStream(t)
		s, _ := openStore(t, Options{})
		if _, err := s.GetFile(events.ModeTest, "file_late"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("before its event: %v", err)
		}
		want := st.file(events.ModeTest, "file_late", "dispute_evidence", base)
		applyAll(t, s, st.recs, 1)
		for range 2 {
			got, err := s.GetFile(events.ModeTest, "file_late")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, %v, want %+v", got, err, want)
			}
		}
		if _, err := s.GetFile(events.ModeLive, "file_late"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("the other mode: %v", err)
		}
	})
	t.Run("Redelivery", func(t *testing.T) {
		want := digest(t, s)
		applyAll(t, s, st.recs, 500)
		if digest(t, s) != want {
			t.Error("digest changed after redelivery")
		}
		before := dump(t, s, bucketFiles, bucketFilesByCreated, bucketFilesByPurpose)
		n := len(st.recs)
		for _, r := range st.recs[:n] {
			st.add(r.Subject, r.Data) // the same events stored again
		}
		applyAll(t, s, st.recs[n:], 500)
		if dump(t, s, bucketFiles, bucketFilesByCreated, bucketFilesByPurpose) != before {
			t.Error("a file event stored again changed the files")
		}
	})
	t.Run("SkipMalformedStopUnsupported", func(t *testing.T) {
		st := newStream(t)
		st.add(events.FileSubject(events.ModeLive, "file_x"), []byte(`{"schema":1,"id":"evt_1","type":"FileCreated"}`))
		st.file(events.ModeLive, "file_a", "dispute_evidence", base)
		st.add(events.FileSubject(events.ModeLive, "file_y"), rewrite(t, st.recs[1].Data, "schema", events.Schema+1))
		s, _ := openStore(t, Options{Logger: slog.New(slog.DiscardHandler)})
		err := s.Apply(st.recs)
		if !errors.Is(err, ErrStopped) || s.Checkpoint() != 2 || s.Stats().Skipped != 1 {
			t.Errorf("err = %v, checkpoint %d, stats %+v", err, s.Checkpoint(), s.Stats())
		}
	})
}

func TestStore_ListFiles(t *testing.T) {
	st, files := filesStream(t)
	s, _ := openStore(t, Options{})
	applyAll(t, s, st.recs, 11)
	r := rand.New(rand.NewPCG(5, 5))
	at := func(m int) *time.Time { return ptr(base.Add(time.Duration(m) * time.Minute)) }
	t.Run("Random", func(t *testing.T) {
		for range 2000 {
			q := domain.FileQuery{Mode: events.ModeLive, Limit: r.IntN(8)}
			if r.IntN(4) == 0 {
				q.Mode = events.ModeTest
			}
			if r.IntN(3) == 0 {
				q.Purpose = []string{"dispute_evidence", "business_logo", "nope"}[r.IntN(3)]
			}
			if r.IntN(3) == 0 {
				q.CreatedFrom = at(r.IntN(32))
			}
			if r.IntN(3) == 0 {
				q.CreatedBefore = at(r.IntN(32))
			}
			var ofMode []string
			for _, f := range files {
				if f.Mode == q.Mode {
					ofMode = append(ofMode, f.ID)
				}
			}
			switch r.IntN(3) {
			case 1:
				q.StartingAfter = ofMode[r.IntN(len(ofMode))]
			case 2:
				q.EndingBefore = ofMode[r.IntN(len(ofMode))]
			}
			want, more := expectFiles(files, q)
			p, err := s.ListFiles(q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			var got []string
			for _, f := range p.Files {
				got = append(got, f.ID)
			}
			if !slices.Equal(got, want) || p.HasMore != more {
				t.Fatalf("%+v:\n got %v %v\nwant %v %v", q, got, p.HasMore, want, more)
			}
		}
	})
	t.Run("ErrInvalidCursor", func(t *testing.T) {
		_, err := s.ListFiles(domain.FileQuery{Mode: events.ModeLive, EndingBefore: "file_003"})
		if e := domain.AsError(err); e == nil || e.Code != domain.EINVALID || e.Reason != ReasonInvalidCursor ||
			e.Param != "ending_before" || e.Message != "No such file: 'file_003'" {
			t.Errorf("err = %v", err)
		}
		_, err = s.ListFiles(domain.FileQuery{Mode: events.ModeLive, StartingAfter: "file_000", EndingBefore: "file_001"})
		if code, _, param := errCode(err); code != domain.EINVALID || param != "ending_before" {
			t.Errorf("err = %v", err)
		}
	})
}
