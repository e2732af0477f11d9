package filestore

import "testing"

func TestParseLayout(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		ok      bool
	}{
		{"OK", "N1:5+3,12+4", true},
		{"Adjacent", "N1:5+3,8+4", true},
		{"OtherNUID", "N2:5+3,12+4", false},
		{"TooFew", "N1:5+3,12+3", false},
		{"TooMany", "N1:5+3,12+5", false},
		{"Overlapping", "N1:5+3,7+4", false},
		{"ZeroRun", "N1:5+7,12+0", false},
		{"Garbage", "N1:5+3,x+4", false},
		{"NoRuns", "N1:", false},
		{"Empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := parseLayout(tc.s, "N1", 7)
			if (l != nil) != tc.ok {
				t.Fatalf("parseLayout(%q) = %v, want ok %v", tc.s, l, tc.ok)
			}
			if !tc.ok {
				return
			}
			if got := l.encode("N1"); got != tc.s {
				t.Fatalf("encode = %q, want %q", got, tc.s)
			}
			want := []uint64{5, 6, 7, 12, 13, 14, 15}
			if tc.name == "Adjacent" {
				want = []uint64{5, 6, 7, 8, 9, 10, 11}
			}
			for k, w := range want {
				if seq, ok := l.seq(uint32(k)); !ok || seq != w {
					t.Fatalf("seq(%d) = %d, %v, want %d", k, seq, ok, w)
				}
			}
			if _, ok := l.seq(7); ok {
				t.Fatal("seq(7) of 7 chunks found")
			}
		})
	}
}
