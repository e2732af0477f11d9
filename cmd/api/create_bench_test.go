package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/filelinks/filelinks/internal/config"
)

// BenchmarkCreate runs the whole service in this process, as
// `go run ./cmd/api` does (embedded NATS, projector, the Watermill expirer),
// and creates links with POST /v1/file_links over loopback HTTP from 32
// goroutines, each request with its own Idempotency-Key, as
// docs/bench/create.lua does. Its allocs/op and B/op count every allocation
// of the process per create: the handler's, the NATS server's, the
// projector's, the expirer's and the HTTP client's. Unlike a wrk run's
// requests/s on this machine, they do not drift, so they tell whether a
// change made the create path allocate less.
//
//	go test ./cmd/api -run X -bench Create -benchtime 20000x
func BenchmarkCreate(b *testing.B) {
	dir := b.TempDir()
	env := map[string]string{
		"FILELINKS_HTTP_ADDR":   "127.0.0.1:0",
		"FILELINKS_DATA_DIR":    dir,
		"FILELINKS_NATS_LISTEN": "127.0.0.1:-1",
		"FILELINKS_API_KEYS":    testKey,
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	svc, err := StartAllInOne(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		http.DefaultClient.CloseIdleConnections()
		_ = svc.Shutdown(ctx)
	})
	in := &instance{t: b, svc: svc, dir: dir, base: "http://" + svc.Addr()}
	fileID := in.uploadFile(testKey)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	body := "file=" + fileID + "&metadata[order]=42"
	post := func() error {
		req, err := http.NewRequest(http.MethodPost, in.base+"/v1/file_links", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", n.Add(1)))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	for range 2000 { // warm up: connections, pools, the first pages
		if err := post(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetParallelism(16) // 32 goroutines on this 2-core machine
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := post(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
