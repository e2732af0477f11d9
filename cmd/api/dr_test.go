package main

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed's own example bodies (../shared/seeds/001_*.txt): a create with
// the expiry in Java's OffsetDateTime object form, and an update.
const seedExpires = `{"offset":{"totalSeconds":0,"id":"Z","rules":{"fixedOffset":true,"transitions":[],"transitionRules":[]}},"nano":0,"year":2020,"monthValue":4,"dayOfMonth":25,"hour":20,"minute":36,"second":0,"dayOfWeek":"SATURDAY","dayOfYear":116,"month":"APRIL"}`

func seedCreate(fileID, year string) string {
	return `{"fileId": "` + fileID + `", "expiresTime": ` + strings.Replace(seedExpires, `"year":2020`, `"year":`+year, 1) + `, "metadata": {"coupon": "iOS"}}`
}

func seedUpdate(year string) string {
	return `{"expiresTime": ` + strings.Replace(seedExpires, `"year":2020`, `"year":`+year, 1) + `, "metadata": {"coupon": "iOS"}}`
}

// drErr returns the first error of a Digital River error response and its type.
func (r response) drErr(t *testing.T) (string, map[string]any) {
	t.Helper()
	m := r.json(t)
	errs, ok := m["errors"].([]any)
	if !ok || len(errs) == 0 {
		t.Fatalf("no errors in %s", r.Body)
	}
	return m["type"].(string), errs[0].(map[string]any)
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (in *instance) drJSON(method, path, body string) response {
	in.t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
		return in.do(method, path, testKey, "application/json", r)
	}
	return in.do(method, path, testKey, "", nil)
}

func TestDigitalRiver(t *testing.T) {
	in := start(t, "")
	fileID := in.uploadFile(testKey)
	linkKeys := []string{"createdTime", "expired", "expiresTime", "fileId", "id", "liveMode", "metadata", "url"}

	t.Run("SeedCreate", func(t *testing.T) {
		// Verbatim, the seed's expiry (2020) is in the past: refused.
		r := in.drJSON("POST", "/file-links", seedCreate(fileID, "2020"))
		if typ, e := r.drErr(t); r.Status != 400 || typ != "bad_request" || e["parameter"] != "expiresTime" {
			t.Fatalf("seed body as is: %d %s", r.Status, r.Body)
		}
		r = in.drJSON("POST", "/file-links", seedCreate(fileID, "2099"))
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		m := r.json(t)
		if got := keysOf(m); !slices.Equal(got, linkKeys) {
			t.Fatalf("fields %v, want the seed's %v", got, linkKeys)
		}
		if m["expiresTime"] != "2099-04-25T20:36:00.000Z" || m["fileId"] != fileID || m["liveMode"] != false || m["expired"] != false ||
			m["metadata"].(map[string]any)["coupon"] != "iOS" || !strings.Contains(m["url"].(string), "/links/") {
			t.Fatalf("created %v", m)
		}
		if _, err := time.Parse(time.RFC3339, m["createdTime"].(string)); err != nil || !strings.HasSuffix(m["createdTime"].(string), "Z") {
			t.Fatalf("createdTime %v", m["createdTime"])
		}
		id := m["id"].(string)
		u := in.drJSON("POST", "/file-links/"+id, seedUpdate("2098"))
		if u.Status != 200 || u.json(t)["expiresTime"] != "2098-04-25T20:36:00.000Z" {
			t.Fatalf("seed update: %d %s", u.Status, u.Body)
		}
		// ISO string form, any offset, is accepted too.
		u = in.drJSON("POST", "/file-links/"+id, `{"expiresTime": "2097-01-02T03:04:05+02:00"}`)
		if u.Status != 200 || u.json(t)["expiresTime"] != "2097-01-02T01:04:05.000Z" {
			t.Fatalf("ISO update: %d %s", u.Status, u.Body)
		}
		g := in.drJSON("GET", "/file-links/"+id, "")
		if g.Status != 200 || !slices.Equal(keysOf(g.json(t)), linkKeys) {
			t.Fatalf("get: %d %s", g.Status, g.Body)
		}
	})

	t.Run("List", func(t *testing.T) {
		f2 := in.uploadFile(testKey)
		var ids []string
		for i := 0; i < 5; i++ {
			r := in.drJSON("POST", "/file-links", `{"fileId":"`+f2+`","expiresTime":"2099-01-01T00:00:00Z"}`)
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			ids = append(ids, r.json(t)["id"].(string))
		}
		list := func(q string) (bool, []string) {
			r := in.drJSON("GET", "/file-links?"+q, "")
			if r.Status != 200 {
				t.Fatalf("list %s: %d %s", q, r.Status, r.Body)
			}
			m := r.json(t)
			if !slices.Equal(keysOf(m), []string{"data", "hasMore"}) {
				t.Fatalf("list shape %v", keysOf(m))
			}
			var got []string
			for _, l := range m["data"].([]any) {
				got = append(got, l.(map[string]any)["id"].(string))
			}
			return m["hasMore"].(bool), got
		}
		more, got := list("fileId=" + f2 + "&limit=2")
		if !more || !slices.Equal(got, []string{ids[4], ids[3]}) {
			t.Fatalf("page 1: %v %v", more, got)
		}
		more, got = list("fileId=" + f2 + "&limit=2&startingAfter=" + ids[3])
		if !more || !slices.Equal(got, []string{ids[2], ids[1]}) {
			t.Fatalf("page 2: %v %v", more, got)
		}
		more, got = list("fileId=" + f2 + "&limit=2&endingBefore=" + ids[1])
		if !more || !slices.Equal(got, []string{ids[3], ids[2]}) {
			t.Fatalf("endingBefore: %v %v", more, got)
		}
		_, got = list("ids=" + ids[0] + "," + ids[2] + "&ids=" + ids[4])
		if !slices.Equal(got, []string{ids[4], ids[2], ids[0]}) {
			t.Fatalf("ids: %v", got)
		}
		_, got = list("fileId=" + f2 + "&expired=true")
		if len(got) != 0 {
			t.Fatalf("expired=true: %v", got)
		}
		_, got = list("fileId=" + f2 + "&createdTime[gte]=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
		if len(got) != 5 {
			t.Fatalf("createdTime[gte]: %v", got)
		}
		_, got = list("fileId=" + f2 + "&createdTime[lt]=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
		if len(got) != 0 {
			t.Fatalf("createdTime[lt]: %v", got)
		}
	})

	t.Run("CrossDialect", func(t *testing.T) {
		// Made through Stripe, seen, listed and deleted through Digital River.
		exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
		s := in.form("POST", "/v1/file_links", testKey, url.Values{"file": {fileID}, "expires_at": {strconv.FormatInt(exp.Unix(), 10)}, "metadata[k]": {"v"}})
		sid := s.json(t)["id"].(string)
		d := in.drJSON("GET", "/file-links/"+sid, "")
		dm := d.json(t)
		if d.Status != 200 || dm["expiresTime"] != exp.UTC().Format("2006-01-02T15:04:05.000Z") || dm["url"] != s.json(t)["url"] || dm["metadata"].(map[string]any)["k"] != "v" {
			t.Fatalf("DR view of a Stripe link: %d %s", d.Status, d.Body)
		}
		if r := in.drJSON("DELETE", "/file-links/"+sid, ""); r.Status != 204 || len(r.Body) != 0 {
			t.Fatalf("delete: %d %q", r.Status, r.Body)
		}
		if r := in.form("GET", "/v1/file_links/"+sid, testKey, nil); r.Status != 404 {
			t.Fatalf("Stripe after DR delete: %d", r.Status)
		}
		u, _ := url.Parse(dm["url"].(string))
		if r := get(t, "GET", in.base+u.Path); r.Status != 404 {
			t.Fatalf("public URL after delete: %d", r.Status)
		}
		r := in.drJSON("DELETE", "/file-links/"+sid, "")
		if typ, e := r.drErr(t); r.Status != 404 || typ != "not_found" || e["code"] != "not_found" {
			t.Fatalf("second delete: %d %s", r.Status, r.Body)
		}
		// Made through Digital River, seen through Stripe.
		c := in.drJSON("POST", "/file-links", `{"fileId":"`+fileID+`","expiresTime":"2099-06-01T00:00:00Z","metadata":{"n":7,"b":true}}`)
		cm := c.json(t)
		g := in.form("GET", "/v1/file_links/"+cm["id"].(string), testKey, nil).json(t)
		if g["expires_at"].(float64) != float64(time.Date(2099, 6, 1, 0, 0, 0, 0, time.UTC).Unix()) || g["url"] != cm["url"] ||
			g["metadata"].(map[string]any)["n"] != "7" || g["metadata"].(map[string]any)["b"] != "true" {
			t.Fatalf("Stripe view of a DR link: %v", g)
		}
	})

	t.Run("Files", func(t *testing.T) {
		body, ctype := multipartBody(t, map[string]string{"purpose": "dispute_evidence", "title": "Invoice", "fileName": "inv.pdf", "linkExpiresTime": "2099-01-01T00:00:00Z"})
		up := in.do("POST", "/files", testKey, ctype, body)
		if up.Status != 201 {
			t.Fatalf("DR upload: %d %s", up.Status, up.Body)
		}
		m := up.json(t)
		links := m["links"].(map[string]any)["data"].([]any)
		if m["fileName"] != "inv.pdf" || m["title"] != "Invoice" || m["type"] != "pdf" || len(links) != 1 {
			t.Fatalf("DR file: %v", m)
		}
		if g := in.drJSON("GET", "/files/"+m["id"].(string), ""); g.Status != 200 {
			t.Fatalf("DR get file: %d %s", g.Status, g.Body)
		}
		if g := in.drJSON("GET", "/files?limit=100", ""); g.Status != 200 || len(g.json(t)["data"].([]any)) < 2 {
			t.Fatalf("DR list files: %d %s", g.Status, g.Body)
		}
	})
}

func multipartBody(t *testing.T, fields map[string]string) (*strings.Reader, string) {
	t.Helper()
	var b strings.Builder
	const boundary = "drboundary"
	for k, v := range fields {
		b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n")
	}
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf\"\r\nContent-Type: application/pdf\r\n\r\n")
	b.Write(pdf)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return strings.NewReader(b.String()), "multipart/form-data; boundary=" + boundary
}

// TestDigitalRiverErrors: bad input gets a 4xx in Digital River's envelope
// naming the parameter, and writes nothing.
func TestDigitalRiverErrors(t *testing.T) {
	in := start(t, "")
	fileID := in.uploadFile(testKey)
	ok := in.drJSON("POST", "/file-links", `{"fileId":"`+fileID+`","expiresTime":"2099-01-01T00:00:00Z"}`)
	linkID := ok.json(t)["id"].(string)
	gone := in.drJSON("POST", "/file-links", `{"fileId":"`+fileID+`","expiresTime":"2099-01-01T00:00:00Z"}`).json(t)["id"].(string)
	in.drJSON("DELETE", "/file-links/"+gone, "")
	before := in.drJSON("GET", "/file-links?limit=100", "").json(t)["data"].([]any)

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		typ, param               string
	}{
		{"InvalidJSON", "POST", "/file-links", `{"fileId":`, 400, "bad_request", ""},
		{"TrailingJSON", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":"2099-01-01T00:00:00Z"} {}`, 400, "bad_request", ""},
		{"WrongType", "POST", "/file-links", `{"fileId":5,"expiresTime":"2099-01-01T00:00:00Z"}`, 400, "bad_request", "fileId"},
		{"UnknownField", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":"2099-01-01T00:00:00Z","colour":"red"}`, 400, "bad_request", "colour"},
		{"BadTime", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":"next tuesday"}`, 400, "bad_request", "expiresTime"},
		{"BadTimeObject", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":{"year":2099,"monthValue":13,"dayOfMonth":1,"hour":0,"minute":0}}`, 400, "bad_request", "expiresTime"},
		{"Feb30", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":{"year":2099,"monthValue":2,"dayOfMonth":30,"hour":0,"minute":0}}`, 400, "bad_request", "expiresTime"},
		{"PastTime", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":"2001-01-01T00:00:00Z"}`, 400, "bad_request", "expiresTime"},
		{"MissingFile", "POST", "/file-links", `{"expiresTime":"2099-01-01T00:00:00Z"}`, 400, "bad_request", "fileId"},
		{"MissingExpiry", "POST", "/file-links", `{"fileId":"` + fileID + `"}`, 400, "bad_request", "expiresTime"},
		{"UnknownFile", "POST", "/file-links", `{"fileId":"file_nope","expiresTime":"2099-01-01T00:00:00Z"}`, 400, "bad_request", "fileId"},
		{"BadMetadata", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":"2099-01-01T00:00:00Z","metadata":{"a":[1]}}`, 400, "bad_request", "metadata.a"},
		{"MetadataKey", "POST", "/file-links", `{"fileId":"` + fileID + `","expiresTime":"2099-01-01T00:00:00Z","metadata":{"a[b]":"x"}}`, 400, "bad_request", "metadata"},
		{"UnknownID", "GET", "/file-links/link_nope", "", 404, "not_found", "id"},
		{"UpdateDeleted", "POST", "/file-links/" + gone, `{"expiresTime":"2099-01-01T00:00:00Z"}`, 404, "not_found", "id"},
		{"SecondDelete", "DELETE", "/file-links/" + gone, "", 404, "not_found", "id"},
		{"UpdateFileID", "POST", "/file-links/" + linkID, `{"fileId":"x","expiresTime":"2099-01-01T00:00:00Z"}`, 400, "bad_request", "fileId"},
		{"UpdateMissingExpiry", "POST", "/file-links/" + linkID, `{"metadata":{"a":"b"}}`, 400, "bad_request", "expiresTime"},
		{"BadLimit", "GET", "/file-links?limit=0", "", 400, "bad_request", "limit"},
		{"BadExpired", "GET", "/file-links?expired=yes", "", 400, "bad_request", "expired"},
		{"BadCreated", "GET", "/file-links?createdTime[gt]=yesterday", "", 400, "bad_request", "createdTime[gt]"},
		{"UnknownQuery", "GET", "/file-links?colour=red", "", 400, "bad_request", "colour"},
		{"BothCursors", "GET", "/file-links?startingAfter=a&endingBefore=b", "", 400, "bad_request", "endingBefore"},
		{"BadCursor", "GET", "/file-links?startingAfter=link_nope", "", 400, "bad_request", "startingAfter"},
		{"UnknownRoute", "GET", "/file-links/a/b", "", 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := in.drJSON(tc.method, tc.path, tc.body)
			typ, e := r.drErr(t)
			if r.Status != tc.status || typ != tc.typ || e["message"] == "" || e["code"] == "" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if tc.param != "" && e["parameter"] != tc.param {
				t.Fatalf("parameter %v, want %s: %s", e["parameter"], tc.param, r.Body)
			}
		})
	}
	if r := in.do("GET", "/file-links", "", "", nil); r.Status != 401 {
		t.Fatalf("no key: %d", r.Status)
	} else if typ, _ := r.drErr(t); typ != "unauthorized" {
		t.Fatalf("no key type %s", typ)
	}
	if r := in.do("POST", "/file-links", testKey, "text/plain", strings.NewReader("{}")); r.Status != http.StatusBadRequest {
		t.Fatalf("text/plain body: %d", r.Status)
	}
	after := in.drJSON("GET", "/file-links?limit=100", "").json(t)["data"].([]any)
	if len(after) != len(before) {
		t.Fatalf("bad requests changed the links from %d to %d", len(before), len(after))
	}
}
