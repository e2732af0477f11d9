package projections

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// randID returns prefix and 24 base-62 characters, like the service's ids:
// random, so inserts land all over the B+trees as they will in production.
func randID(r *rand.Rand, prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte(prefix)
	for range 24 {
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return string(b)
}

// applyStream is 1,000,000 real events: 500,000 LinkCreated (half with an
// expiry, two metadata keys, 100,000 files) and 500,000 LinkUpdated, each
// updating a link created 1,000 events earlier (metadata only, or a new
// expires_at). Built once per test binary.
var applyStream = sync.OnceValue(func() []events.Record {
	const links = 500_000
	r := rand.New(rand.NewPCG(7, 7))
	st := newStream(&testing.T{})
	files := make([]string, 100_000)
	for i := range files {
		files[i] = randID(r, "file_")
	}
	ids := make([]string, links)
	for i := range links {
		now := base.Add(time.Duration(i) * time.Millisecond)
		ids[i] = randID(r, "link_")
		var exp *time.Time
		if i%2 == 0 {
			exp = ptr(now.Add(time.Duration(1+i%30) * 24 * time.Hour).Truncate(time.Second))
		}
		st.do(events.ModeLive, ids[i], domain.CreateLink{
			Mode: events.ModeLive, LinkID: ids[i], Token: randID(r, "tok_") + randID(r, ""),
			File:      domain.File{ID: files[r.IntN(len(files))], Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"},
			ExpiresAt: exp,
			Metadata:  domain.MetadataPatch{Set: map[string]string{"order": fmt.Sprint(i), "customer": "cus_" + ids[i][5:15]}},
		}, now)
		if i < 1000 {
			continue
		}
		u := domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"step": fmt.Sprint(i)}}}
		if i%2 == 0 {
			u = domain.UpdateLink{Expiry: domain.ExpirySet, ExpiresAt: now.Add(90 * 24 * time.Hour)}
		}
		st.do(events.ModeLive, ids[i-1000], u, now)
	}
	for i := links - 1000; i < links; i++ { // the last 1,000 updates
		now := base.Add(time.Duration(links+i) * time.Millisecond)
		st.do(events.ModeLive, ids[i], domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"step": "last"}}}, now)
	}
	return st.recs
})

// BenchmarkStore_Apply applies a million events in batches of 500, the
// projector's batch size, into a fresh file:
//
//	go test ./projections -run X -bench Apply -benchtime 1x
func BenchmarkStore_Apply(b *testing.B) {
	recs := applyStream()
	for _, c := range []struct {
		name string
		opts Options
	}{{"Sync", Options{}}, {"NoSync", Options{NoSync: true}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, _ := openStore(b, c.opts)
				applyAll(b, s, recs, 500)
				if s.Checkpoint() != uint64(len(recs)) {
					b.Fatalf("checkpoint %d", s.Checkpoint())
				}
			}
			b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

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
// the service writes.
//
//	go test ./projections -run X -bench Decode -benchmem
func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	st := newStream(b)
	now := base
	id := randID(r, "link_")
	st.do(events.ModeLive, id, domain.CreateLink{
		Mode: events.ModeLive, LinkID: id, Token: randID(r, "") + randID(r, ""),
		File:      domain.File{ID: randID(r, "file_"), Found: true, Mode: events.ModeLive, Purpose: "dispute_evidence"},
		ExpiresAt: ptr(now.Add(24 * time.Hour)),
		Metadata:  domain.MetadataPatch{Set: map[string]string{"order": "ord_123456", "customer": "cus_4711"}},
	}, now)
	st.do(events.ModeLive, id, domain.UpdateLink{Metadata: domain.MetadataPatch{Set: map[string]string{"status": "s1"}}}, now.Add(time.Second))
	for i, name := range []string{"LinkCreated", "LinkUpdated"} {
		rec := st.recs[i]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(rec.Data)))
			b.ReportAllocs()
			for b.Loop() {
				if d := decode(rec); d.err != nil {
					b.Fatal(d.err)
				}
			}
		})
	}
}
