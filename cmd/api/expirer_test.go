package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/config"
	"github.com/filelinks/filelinks/internal/eventlog"
)

// TestAllInOne_Expirer: the all-in-one service runs the expirer of
// cmd/expirer, with its durable consumer and schedule file: a link made
// through the API gets its LinkExpired when the service's clock passes its
// deadline, and the expirer survives a restart of the service.
func TestAllInOne_Expirer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	const key = "sk_test_expirer_inprocess_1"
	env := map[string]string{
		"FILELINKS_HTTP_ADDR": "127.0.0.1:0", "FILELINKS_DATA_DIR": t.TempDir(), "FILELINKS_NATS_LISTEN": natsAddr,
		"FILELINKS_API_KEYS": key,
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	t0 := time.Now().Truncate(time.Second).Add(time.Second)
	clk.set(t0)
	start := func() *AllInOne {
		svc, err := StartAllInOne(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard, WithClock(clk.now))
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := start()
	defer func() { _ = svc.Shutdown(context.Background()) }()

	// Upload a file with a link that expires in a minute, through the API.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("purpose", "dispute_evidence")
	_ = mw.WriteField("file_link_data[create]", "true")
	_ = mw.WriteField("file_link_data[expires_at]", strconv.FormatInt(t0.Add(time.Minute).Unix(), 10))
	fw, _ := mw.CreateFormFile("file", "a.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", "http://"+svc.Addr()+"/v1/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Links struct {
			Data []struct{ ID string } `json:"data"`
		} `json:"links"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&file); err != nil || resp.StatusCode != 200 || len(file.Links.Data) != 1 {
		t.Fatalf("upload: %d %v %+v", resp.StatusCode, err, file)
	}
	resp.Body.Close()
	linkID := file.Links.Data[0].ID

	// Restart the service (the expirer's schedule and consumer persist),
	// then let its clock pass the deadline.
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc = start()
	clk.set(t0.Add(2 * time.Minute))

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	log, err := eventlog.Open(context.Background(), js, eventlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l, _, err := log.Load(context.Background(), events.ModeTest, linkID)
		if err == nil && l.ExpiredAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no LinkExpired appended in-process 15s after the deadline passed (last load: %v)", err)
		}
	}
	// The expirer has its durable consumer and schedule file.
	stream, err := js.Stream(context.Background(), "FILELINKS_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	var durables []string
	for info := range stream.ListConsumers(context.Background()).Info() {
		if info.Config.Durable != "" {
			durables = append(durables, info.Config.Durable)
		}
	}
	if want := []string{"expirer"}; !slices.Equal(durables, want) {
		t.Fatalf("durable consumers on the stream: %v, want %v", durables, want)
	}
	if _, err := os.Stat(filepath.Join(env["FILELINKS_DATA_DIR"], "expirer.db")); err != nil {
		t.Fatalf("expirer.db in the data directory: %v", err)
	}
	h, err := log.History(context.Background(), events.ModeTest, linkID)
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if p, ok := last.Payload.(events.LinkExpired); !ok || p.Reason != events.ReasonDeadline || !p.Deadline.Equal(t0.Add(time.Minute)) ||
		last.Audit.Actor != "expirer" || len(h) != 2 {
		t.Fatalf("history %+v", h)
	}
}
