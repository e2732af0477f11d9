package projections

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// randID returns prefix and 24 random base-62 characters: the old id
// format, random, so inserts land all over the B+trees.
func randID(r *rand.Rand, prefix string) string {
	b := []byte(prefix)
	for range 24 {
		b = append(b, base62[r.IntN(len(base62))])
	}
	return string(b)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// timeID returns an id in the service's format (internal/randid): prefix,
// the Unix milliseconds of at in 8 base-62 characters, then 16 random ones.
func timeID(r *rand.Rand, prefix string, at time.Time) string {
	b := []byte(prefix)
	b = append(b, make([]byte, 8)...)
	ms := uint64(at.UnixMilli())
	for i := len(b) - 1; i >= len(prefix); i-- {
		b[i] = base62[ms%62]
		ms /= 62
	}
	for range 16 {
		b = append(b, base62[r.IntN(len(base62))])
	}
	return string(b)
}

// token returns a random token like randid.Token: 43 base64url characters.
func token(r *rand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 43)
	for i := range b {
		b[i] = alphabet[r.IntN(64)]
	}
	return string(b)
}

// applyStream is 1,000,000 real events in the mix of the service's
// BenchmarkProjector: about 60% LinkCreated (ids made at creation time, to
// 3,000 files, a fifth of them in test mode, 70% with an expiry 1 hour or
// 24 hours after creation), 30% LinkUpdated (metadata or expiry, of a link
// among the 2,000 newest or of any link), LinkExpired at each deadline
// reached, LinkDeleted for the rest, and the FileCreated events. Built once
// per test binary.
var applyStream = sync.OnceValue(func() []events.Record {
	const total = 1_000_000
	const step = 5 * time.Millisecond
	r := rand.New(rand.NewPCG(7, 7))
	st := newStream(&testing.T{})
	now := base
	type file struct {
		id      string
		mode    events.Mode
		written bool
	}
	files := make([]file, 3000)
	for i := range files {
		files[i] = file{id: timeID(r, "file_", now), mode: events.ModeLive}
		if i%5 == 0 {
			files[i].mode = events.ModeTest
		}
	}
	type due struct {
		at   time.Time
		mode events.Mode
		id   string
	}
	var links []*testLink
	var dues []due // in deadline order: every expiry is 1h or 24h after an event
	var dues24 []due
	schedule := func(tl *testLink, old *time.Time) {
		e := tl.ExpiresAt
		if e == nil || tl.ExpiredAt != nil || tl.DeletedAt != nil || (old != nil && old.Equal(*e)) {
			return
		}
		d := due{at: *e, mode: tl.Mode, id: tl.ID}
		if e.Sub(now) > 2*time.Hour {
			dues24 = append(dues24, d)
		} else {
			dues = append(dues, d)
		}
	}
	pick := func() *testLink {
		for {
			var tl *testLink
			if r.IntN(10) < 6 {
				tl = links[len(links)-1-r.IntN(min(2000, len(links)))]
			} else {
				tl = links[r.IntN(len(links))]
			}
			if tl.Exists() && !tl.Expired(now) {
				return tl
			}
		}
	}
	do := func(tl *testLink, cmd domain.Command) {
		old := tl.ExpiresAt
		st.do(tl.Mode, tl.ID, cmd, now)
		schedule(st.get(tl.Mode, tl.ID), old)
	}
	for len(st.recs) < total-2 {
		now = now.Add(step/2 + time.Duration(r.Int64N(int64(step))))
		var next *due
		for _, q := range []*[]due{&dues, &dues24} {
			if len(*q) > 0 && !(*q)[0].at.After(now) && (next == nil || (*q)[0].at.Before(next.at)) {
				next = &(*q)[0]
			}
		}
		switch p := r.Float64(); {
		case next != nil:
			d := *next
			if len(dues) > 0 && next == &dues[0] {
				dues = dues[1:]
			} else {
				dues24 = dues24[1:]
			}
			do(st.get(d.mode, d.id), domain.ExpireLink{Deadline: d.at})
		case p < 0.61 || len(links) < 1000:
			f := &files[r.IntN(len(files))]
			if !f.written {
				st.file(f.mode, f.id, "dispute_evidence", now)
				f.written = true
			}
			md := map[string]string{"order": "ord_" + strconv.Itoa(len(st.recs))}
			if r.IntN(2) == 0 {
				md["customer"] = "cus_" + strconv.Itoa(r.IntN(50_000))
			}
			var exp *time.Time
			switch q := r.Float64(); {
			case q < 0.35:
				exp = ptr(now.Add(time.Hour))
			case q < 0.70:
				exp = ptr(now.Add(24 * time.Hour))
			}
			id := timeID(r, "link_", now)
			st.do(f.mode, id, domain.CreateLink{
				Mode: f.mode, LinkID: id, Token: domain.LinkToken(id, token(r)),
				File:      domain.File{ID: f.id, Found: true, Mode: f.mode, Purpose: "dispute_evidence"},
				ExpiresAt: exp, Metadata: domain.MetadataPatch{Set: md},
			}, now)
			tl := st.get(f.mode, id)
			links = append(links, tl)
			schedule(tl, nil)
		case p < 0.92:
			tl := pick()
			var u domain.UpdateLink
			switch q := r.Float64(); {
			case q < 0.6:
				u.Metadata.Set = map[string]string{"status": "s" + strconv.Itoa(len(st.recs))}
			case q < 0.7:
				u.Metadata.Set = map[string]string{"customer": ""}
				if _, ok := tl.Metadata["customer"]; !ok {
					u.Metadata.Set = map[string]string{"note": "x"}
				}
			case q < 0.8:
				u.Expiry = domain.ExpiryClear
				if tl.ExpiresAt == nil {
					u.Expiry, u.ExpiresAt = domain.ExpirySet, now.Add(24*time.Hour)
				}
			default:
				u.Expiry, u.ExpiresAt = domain.ExpirySet, now.Add(time.Duration(1+r.IntN(2)*23)*time.Hour)
			}
			do(tl, u)
		default:
			do(pick(), domain.DeleteLink{})
		}
	}
	return st.recs
})

// BenchmarkStore_Apply applies applyStream into a fresh file, in batches of
// 500 (the projector's batch when it follows the stream live) and of
// eventlog.MaxBatch (its batch when it catches up):
//
//	go test ./projections -run X -bench Store_Apply -benchtime 1x
func BenchmarkStore_Apply(b *testing.B) {
	recs := applyStream()
	for _, c := range []struct {
		name  string
		opts  Options
		batch int
	}{
		{"Sync/500", Options{}, 500},
		{"NoSync/500", Options{NoSync: true}, 500},
		{"Sync/" + strconv.Itoa(catchUpBatch), Options{}, catchUpBatch},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, _ := openStore(b, c.opts)
				applyAll(b, s, recs, c.batch)
				if s.Checkpoint() != uint64(len(recs)) {
					b.Fatalf("checkpoint %d", s.Checkpoint())
				}
			}
			b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// catchUpBatch is eventlog.MaxBatch, which this package must not import.
const catchUpBatch = 500

// BenchmarkStore_List lists a page of 10 out of 100,000 links (1,000 files,
// half with an expiry of 1 to 1,000 hours), with each filter and cursor
// direction. The expirer is modelled as having expired every link whose
// deadline passed more than 5 minutes before now; "Backlog" cases look a day
// later, when about a thousand deadlines have passed without LinkExpired.
//
//	go test ./projections -run X -bench List
func BenchmarkStore_List(b *testing.B) {
	const links = 100_000
	r := rand.New(rand.NewPCG(3, 3))
	st := newStream(b)
	files := make([]string, 1000)
	for i := range files {
		files[i] = randID(r, "file_")
	}
	ids := make([]string, links)
	end := base.Add(links * time.Second)
	now := end
	var expiring []string
	fileOf := map[string]string{}
	for i := range links {
		created := base.Add(time.Duration(i) * time.Second)
		ids[i] = randID(r, "link_")
		var exp *time.Time
		if i%2 == 0 {
			exp = ptr(created.Add(time.Duration(1+r.IntN(1000)) * time.Hour))
			if !exp.After(now.Add(-5 * time.Minute)) {
				expiring = append(expiring, ids[i])
			}
		}
		fileOf[ids[i]] = files[r.IntN(len(files))]
		st.create(events.ModeLive, ids[i], fileOf[ids[i]], created, exp, map[string]string{"n": fmt.Sprint(i)})
	}
	for _, id := range expiring {
		st.expire(events.ModeLive, id)
	}
	s, _ := openStore(b, Options{NoSync: true})
	applyAll(b, s, st.recs, 500)
	backlog := now.Add(24 * time.Hour)
	mid := base.Add(links / 2 * time.Second)
	some := make([]string, 20)
	for i := range some {
		some[i] = ids[r.IntN(links)]
	}
	for _, c := range []struct {
		name string
		q    domain.ListQuery
	}{
		{"NoFilter", domain.ListQuery{}},
		{"File", domain.ListQuery{FileID: files[7]}},
		{"ExpiredTrue", domain.ListQuery{Expired: ptr(true)}},
		{"ExpiredFalse", domain.ListQuery{Expired: ptr(false)}},
		{"ExpiredTrueBacklog", domain.ListQuery{Expired: ptr(true), Now: backlog}},
		{"ExpiredFalseBacklog", domain.ListQuery{Expired: ptr(false), Now: backlog}},
		{"ExpiredTrueFile", domain.ListQuery{Expired: ptr(true), FileID: fileOf[expiring[0]]}},
		{"Created", domain.ListQuery{CreatedFrom: &mid, CreatedBefore: ptr(mid.Add(time.Hour))}},
		{"StartingAfter", domain.ListQuery{StartingAfter: ids[links/2]}},
		{"EndingBefore", domain.ListQuery{EndingBefore: ids[links/2]}},
		{"EndingBeforeExpiredFalse", domain.ListQuery{EndingBefore: ids[10], Expired: ptr(false)}},
		{"IDs", domain.ListQuery{IDs: some}},
		{"Combined", domain.ListQuery{FileID: files[9], Expired: ptr(false), CreatedBefore: &end, StartingAfter: ids[links-1]}},
	} {
		q := c.q
		q.Mode, q.Limit = events.ModeLive, 10
		if q.Now.IsZero() {
			q.Now = now
		}
		p, err := s.List(q)
		if err != nil || len(p.Links) == 0 {
			b.Fatalf("%s: %d links, %v", c.name, len(p.Links), err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.List(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode decodes one LinkCreated and one LinkUpdated of the size
// the service writes, as Apply and Rebuild do (decodeInto: a LinkView into
// reused memory, and the checks of the keys), and with the contract's
// events.UnmarshalEnvelope:
//
//	go test ./projections -run X -bench Decode -benchmem
func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	st := newStream(b)
	now := base
	id := timeID(r, "link_", now)
	st.do(events.ModeLive, id, domain.CreateLink{
		Mode: events.ModeLive, LinkID: id, Token: domain.LinkToken(id, token(r)),
		File:      domain.File{ID: timeID(r, "file_", now), Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"},
		ExpiresAt: ptr(now.Add(24 * time.Hour)),
		Metadata:  domain.MetadataPatch{Set: map[string]string{"order": "ord_123456", "customer": "cus_4711"}},
	}, now)
	st.do(events.ModeLive, id, domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"status": "s1"}}}, now.Add(time.Second))
	var d decoded
	for i, name := range []string{"LinkCreated", "LinkUpdated"} {
		rec := st.recs[i]
		for _, c := range []struct {
			name   string
			decode func(events.Record) error
		}{
			{"Projector", func(r events.Record) error { decodeInto(&d, r); return d.err }},
			{"Contract", func(r events.Record) error { _, err := events.UnmarshalEnvelope(r.Data); return err }},
		} {
			b.Run(name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(rec.Data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.decode(rec); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// keyedCreates is n LinkCreated events whose ids are random, as those of
// links created with an idempotency key (every create of the Stripe SDKs)
// are, each with a token that names its link and one metadata key.
func keyedCreates(tb testing.TB, n int) []events.Record {
	r := rand.New(rand.NewPCG(5, 5))
	st := newStream(tb)
	st.file(events.ModeTest, "file_1", "dispute_evidence", base)
	for i := range n {
		id := randID(r, "link_")
		now := base.Add(time.Duration(i) * time.Millisecond)
		st.do(events.ModeTest, id, domain.CreateLink{
			Mode: events.ModeTest, LinkID: id, Token: domain.LinkToken(id, token(r)),
			File:     domain.File{ID: "file_1", Found: true, Mode: events.ModeTest, Purpose: "dispute_evidence"},
			Metadata: domain.MetadataPatch{Set: map[string]string{"order": strconv.Itoa(i)}},
		}, now)
	}
	return st.recs
}

// BenchmarkStore_ApplyKeyedCreates applies 300,000 creates of links with
// random ids in batches of 50 (the projector's batches under the HTTP
// create load) with an fsync per batch, and reports the events/s of the
// last 100,000, applied to a store that holds 200,000 links.
//
//	go test ./projections -run X -bench ApplyKeyedCreates -benchtime 1x
func BenchmarkStore_ApplyKeyedCreates(b *testing.B) {
	recs := keyedCreates(b, 300_000)
	warm := len(recs) - 100_000
	for b.Loop() {
		b.StopTimer()
		s, _ := openStore(b, Options{})
		applyAll(b, s, recs[:warm], 500)
		b.StartTimer()
		applyAll(b, s, recs[warm:], 50)
		b.StopTimer()
		_ = s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*(len(recs)-warm))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOpen opens a store of 300,000 links, which reads every record to
// build the index of ids, and reports the time per open and the heap the
// index takes per link.
//
//	go test ./projections -run X -bench Open -benchtime 5x
func BenchmarkOpen(b *testing.B) {
	recs := keyedCreates(b, 300_000)
	s, path := openStore(b, Options{NoSync: true})
	applyAll(b, s, recs, 500)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	var heap uint64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = m1.HeapAlloc - m0.HeapAlloc
		runtime.KeepAlive(s)
		_ = s.Close()
	}
	b.ReportMetric(float64(heap)/float64(len(recs)-1), "heap-B/link")
}
