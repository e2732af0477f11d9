package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the real program, so tests can run
// it as a separate process and kill it like an operator would.
func TestMain(m *testing.M) {
	if os.Getenv("FILELINKS_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const key = "sk_test_process_tests_01"

type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	out  *bytes.Buffer
}

// startProc runs the program on dir with a free HTTP port.
func startProc(t *testing.T, dir string) *proc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"FILELINKS_TEST_RUN_MAIN=1",
		"FILELINKS_HTTP_ADDR="+addr,
		"FILELINKS_DATA_DIR="+dir,
		"FILELINKS_NATS_LISTEN=127.0.0.1:-1",
		"FILELINKS_API_KEYS="+key,
	)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, base: "http://" + addr, out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("not ready; output:\n%s", out)
	return nil
}

func (p *proc) call(method, path string, body io.Reader, contentType string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+path, body)
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// seed uploads a file and makes n links to it; it returns the link ids.
func (p *proc) seed(n int) (string, []string) {
	p.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("purpose", "dispute_evidence")
	fw, _ := w.CreateFormFile("file", "a.pdf")
	fw.Write([]byte("%PDF-1.4 process test"))
	w.Close()
	status, f := p.call("POST", "/v1/files", &buf, w.FormDataContentType())
	if status != 200 {
		p.t.Fatalf("upload: %d %v", status, f)
	}
	fileID := f["id"].(string)
	var ids []string
	for i := 0; i < n; i++ {
		vals := url.Values{"file": {fileID}, "metadata[i]": {fmt.Sprint(i)}}
		status, l := p.call("POST", "/v1/file_links", strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded")
		if status != 200 {
			p.t.Fatalf("create: %d %v", status, l)
		}
		ids = append(ids, l["id"].(string))
	}
	return fileID, ids
}

// check asserts every link and the file answer as they were made.
func (p *proc) check(fileID string, ids []string) {
	p.t.Helper()
	for i, id := range ids {
		status, l := p.call("GET", "/v1/file_links/"+id, nil, "")
		if status != 200 || l["file"] != fileID || l["metadata"].(map[string]any)["i"] != fmt.Sprint(i) {
			p.t.Fatalf("link %s after restart: %d %v", id, status, l)
		}
	}
	if status, f := p.call("GET", "/v1/files/"+fileID, nil, ""); status != 200 {
		p.t.Fatalf("file after restart: %d %v", status, f)
	}
}

// TestProcess_KillNine: after kill -9 and a start on the same data
// directory, every link and file acknowledged before the kill is there.
func TestProcess_KillNine(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	fileID, ids := p.seed(20)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	again := startProc(t, dir)
	again.check(fileID, ids)
}

// TestProcess_SIGTERM: SIGTERM stops the program cleanly (exit 0), and a
// start on the same data directory has everything.
func TestProcess_SIGTERM(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	fileID, ids := p.seed(5)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.out)
	}
	if !strings.Contains(p.out.String(), "msg=stopped") {
		t.Fatalf("no clean stop in output:\n%s", p.out)
	}
	again := startProc(t, dir)
	again.check(fileID, ids)
}
