package filestore_test

import (
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/internal/filestore"
)

const hundredMiB = 100 << 20

// putRandom stores size pseudo-random bytes streamed from a generator, so
// the benchmark itself never holds the file either.
func putRandom(b *testing.B, s *filestore.Store, name string, size int64) {
	b.Helper()
	r := io.LimitReader(rand.NewChaCha8([32]byte{42}), size)
	if _, err := s.Put(context.Background(), name, r, -1); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStore_Get100MiB reads a 100 MiB object whole (SHA-256 checked)
// and reports MB/s, and the CPU time of the whole process (reader and
// embedded server) per GiB read as cpu-s/GiB, which moves less than MB/s
// when other work shares the machine. After the timed loop it reads it once more, forcing a
// collection every 8 MiB, and reports the largest growth of the live heap
// over the value before the read as heap-growth-MiB: a flat reader stays
// at a few MiB (read-ahead plus one chunk) whatever the object's size.
// The embedded server runs in the same process, so its buffers count too.
func BenchmarkStore_Get100MiB(b *testing.B) {
	ctx := context.Background()
	s, _ := openStore(b, filestore.Config{})
	putRandom(b, s, "file_bench", hundredMiB)
	buf := make([]byte, 32<<10)

	b.SetBytes(hundredMiB)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		obj, err := s.Get(ctx, "file_bench")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, obj, buf); err != nil || n != hundredMiB {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		obj.Close()
	}
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/(float64(b.N)*hundredMiB/(1<<30)), "cpu-s/GiB")

	obj, err := s.Get(ctx, "file_bench")
	if err != nil {
		b.Fatal(err)
	}
	defer obj.Close()
	probe := &heapProbe{every: 8 << 20}
	probe.base = liveHeap()
	probe.peak = probe.base
	if _, err := io.CopyBuffer(probe, obj, buf); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(probe.peak-probe.base)/(1<<20), "heap-growth-MiB")
}

// BenchmarkStore_GetRange reads one byte at the start, the middle and the
// end of a 100 MiB object: with the computed start all cost about the same.
// LastByteInterleaved reads the last byte of a 100 MiB object whose upload
// had another one stored in its middle, so its start comes from the layout
// Put recorded; LastByteScan reads the same object without that record,
// so the reader walks the chunk subject for its start.
func BenchmarkStore_GetRange(b *testing.B) {
	ctx := context.Background()
	s, srv := openStore(b, filestore.Config{})
	putRandom(b, s, "file_bench", hundredMiB)
	gen := io.LimitReader(rand.NewChaCha8([32]byte{43}), hundredMiB)
	interleave := &trickle{r: gen, n: chunk, after: hundredMiB / 2, hook: func() {
		putRandom(b, s, "file_other", 3*chunk)
	}}
	if _, err := s.Put(ctx, "file_interleaved", interleave, -1); err != nil {
		b.Fatal(err)
	}
	stripLayout(b, srv.JS, "file_interleaved", "file_scan")
	for _, bc := range []struct {
		name, file string
		offset     int64
	}{
		{"FirstByte", "file_bench", 0},
		{"MiddleByte", "file_bench", hundredMiB / 2},
		{"LastByte", "file_bench", hundredMiB - 1},
		{"LastByteInterleaved", "file_interleaved", hundredMiB - 1},
		{"LastByteScan", "file_scan", hundredMiB - 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			one := make([]byte, 2)
			for b.Loop() {
				r, err := s.GetRange(ctx, bc.file, bc.offset, 1)
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := io.ReadFull(r, one); n != 1 {
					b.Fatalf("read %d bytes", n)
				}
				r.Close()
			}
		})
	}
}

// heapProbe is an io.Writer that samples the live heap (after a forced
// collection) every `every` bytes written through it.
type heapProbe struct {
	every, since int
	base, peak   uint64
}

func (p *heapProbe) Write(b []byte) (int, error) {
	p.since += len(b)
	if p.since >= p.every {
		p.since = 0
		p.peak = max(p.peak, liveHeap())
	}
	return len(b), nil
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkStore_Put stores 10 MiB streamed from a generator.
func BenchmarkStore_Put(b *testing.B) {
	s, _ := openStore(b, filestore.Config{})
	const size = 10 << 20
	b.SetBytes(size)
	for b.Loop() {
		putRandom(b, s, "file_bench", size)
	}
}

// stripLayout publishes the description of object from under the name to,
// without the layout Put recorded: an object as another tool would write.
func stripLayout(tb testing.TB, js jetstream.JetStream, from, to string) {
	tb.Helper()
	obs, err := js.ObjectStore(context.Background(), "FILELINKS_FILES")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := obs.GetInfo(context.Background(), from)
	if err != nil {
		tb.Fatal(err)
	}
	info.Name = to
	info.Metadata = map[string]string{"filelinks-chunking": "fixed"}
	publishMeta(tb, js, info)
}
