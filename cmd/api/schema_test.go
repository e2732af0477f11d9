package main

import (
	"bytes"
	"context"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/filelinks/filelinks/events"
)

// TestEvents_Schemas: every kind of event the service writes, through both
// dialects and the expirer, is valid against the JSON Schema of its type in
// events/schemas (draft 2020-12, formats asserted), and the schemas refuse
// an event with a required field missing or of the wrong type.
func TestEvents_Schemas(t *testing.T) {
	schemas := compileSchemas(t)
	clk := &clock{}
	t0 := time.Now().Truncate(time.Second)
	clk.set(t0)
	in := startWith(t, "", nil, WithClock(clk.now))

	fileID := in.uploadFile(testKey)
	form := func(method, path string, vals url.Values) map[string]any {
		t.Helper()
		r := in.form(method, path, testKey, vals)
		if r.Status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r.json(t)
	}
	// LinkCreated with and without expiry and metadata.
	plain := form("POST", "/v1/file_links", url.Values{"file": {fileID}})["id"].(string)
	due := form("POST", "/v1/file_links", url.Values{"file": {fileID},
		"expires_at": {strconv.FormatInt(t0.Add(time.Minute).Unix(), 10)}, "metadata[order]": {"42"}})["id"].(string)
	// LinkUpdated: metadata set, unset and cleared; expiry set and cleared.
	form("POST", "/v1/file_links/"+plain, url.Values{"metadata[a]": {"1"}, "metadata[b]": {"2"}})
	form("POST", "/v1/file_links/"+plain, url.Values{"metadata[a]": {""}})
	form("POST", "/v1/file_links/"+plain, url.Values{"metadata": {""}})
	form("POST", "/v1/file_links/"+plain, url.Values{"expires_at": {strconv.FormatInt(t0.Add(time.Hour).Unix(), 10)}})
	form("POST", "/v1/file_links/"+plain, url.Values{"expires_at": {""}})
	// LinkExpired on request (with a LinkUpdated in the same command), then
	// LinkDeleted through the Digital River dialect.
	form("POST", "/v1/file_links/"+plain, url.Values{"expires_at": {"now"}, "metadata[why]": {"done"}})
	if r := in.do("DELETE", "/file-links/"+plain, testKey, "", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	// LinkExpired by the expirer, once the clock passes the deadline.
	clk.set(t0.Add(2 * time.Minute))

	js := in.svc.conn.JS
	ctx := context.Background()
	stream, err := js.Stream(ctx, "FILELINKS_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		msg, err := stream.GetLastMsgForSubject(ctx, events.LinkFilter(events.ModeTest, due))
		if err == nil && msg.Header.Get(events.TypeHeader) == events.TypeLinkExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no LinkExpired of %s 15s after its deadline passed (%v)", due, err)
		}
	}

	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		typ := msg.Header.Get(events.TypeHeader)
		sch, ok := schemas[typ]
		if !ok {
			t.Fatalf("seq %d: no schema for type %q", seq, typ)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(msg.Data))
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("seq %d %s does not match its schema: %v\n%s", seq, typ, err, msg.Data)
		}
		seen[typ]++
		// The schemas are strict: without a required field, or with one
		// of the wrong type, the same event is refused.
		m := doc.(map[string]any)
		for _, field := range []string{"id", "time", "audit", "data", "link", "file"} {
			if _, has := m[field]; !has {
				continue
			}
			missing, wrong := maps.Clone(m), maps.Clone(m)
			delete(missing, field)
			wrong[field] = 7
			if sch.Validate(missing) == nil || sch.Validate(wrong) == nil {
				t.Errorf("seq %d %s: the schema accepts the event without %q or with a number there", seq, typ, field)
			}
		}
	}
	for _, typ := range []string{events.TypeFileCreated, events.TypeLinkCreated, events.TypeLinkUpdated, events.TypeLinkExpired, events.TypeLinkDeleted} {
		if seen[typ] == 0 {
			t.Errorf("no %s event was written; seen %v", typ, seen)
		}
	}
}

// compileSchemas compiles events/schemas/<Type>.json for every type.
func compileSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, typ := range []string{events.TypeFileCreated, events.TypeLinkCreated, events.TypeLinkUpdated, events.TypeLinkExpired, events.TypeLinkDeleted} {
		path := filepath.Join("..", "..", "events", "schemas", typ+".json")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		id := "https://github.com/filelinks/filelinks/events/schemas/" + typ + ".json"
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		if out[typ], err = c.Compile(id); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return out
}
