package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestStripeFileLinkAppendJSON: the file_link bytes written without
// reflection are json.Marshal's, for every shape of the object.
func TestStripeFileLinkAppendJSON(t *testing.T) {
	exp := int64(1_790_000_000)
	neg := int64(-1)
	for _, s := range []string{"", "link_abc", `"<&>"\`, "é\xff\u2028\n"} {
		for _, l := range []stripeFileLink{
			{ID: s, Object: "file_link", File: "file_" + s, URL: "http://x/links/" + s},
			{ID: s, Object: "file_link", Created: 1, Expired: true, ExpiresAt: &exp, File: s, Livemode: true,
				Metadata: map[string]string{}, URL: s},
			{ID: s, Object: "file_link", Created: -5, ExpiresAt: &neg, File: "f",
				Metadata: map[string]string{s: s, "order": "42", "<": "&"}, URL: s},
		} {
			got, ok := l.appendJSON([]byte("prefix"))
			if !ok {
				t.Fatalf("appendJSON refused %+v", l)
			}
			want, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("appendJSON(%+v)\n got %s\nwant prefix%s", l, got, want)
			}
		}
	}
	expanded := stripeFileLink{ID: "link_1", File: stripeFile{ID: "file_1"}}
	if _, ok := expanded.appendJSON(nil); ok {
		t.Fatal("appendJSON wrote an expanded file, which is left to encoding/json")
	}
}
