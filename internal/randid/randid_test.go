package randid

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

// at makes New read t as the current time until the test ends.
func at(t *testing.T, tm time.Time) {
	t.Helper()
	old := now
	now = func() time.Time { return tm }
	t.Cleanup(func() { now = old })
}

func TestNew(t *testing.T) {
	t.Run("Format", func(t *testing.T) {
		id := New("link_")
		if !strings.HasPrefix(id, "link_") || len(id) != len("link_")+IDLen {
			t.Fatalf("New = %q, want link_ and %d characters", id, IDLen)
		}
		for _, c := range id[len("link_"):] {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("New = %q: %q is not base 62", id, c)
			}
		}
	})

	t.Run("Time", func(t *testing.T) {
		for _, tc := range []struct {
			at   time.Time
			want string
		}{
			{time.UnixMilli(0), "00000000"},
			{time.UnixMilli(61), "0000000z"},
			{time.UnixMilli(62), "00000010"},
			{time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), "00000000"},
			{time.UnixMilli(218340105584895), "zzzzzzzz"}, // 62^8-1 ms: the year 8888
		} {
			at(t, tc.at)
			if got := New("")[:TimeLen]; got != tc.want {
				t.Errorf("time part at %d ms = %q, want %q", tc.at.UnixMilli(), got, tc.want)
			}
		}
	})

	t.Run("SortsByTime", func(t *testing.T) {
		start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		var ids []string
		for i := range 2000 {
			// Steps from 1 ms to hours (i³ ms), so that most digits change.
			at(t, start.Add(time.Duration(i*i*i)*time.Millisecond))
			ids = append(ids, New("evt_"))
		}
		if !slices.IsSorted(ids) {
			t.Fatal("ids made later do not sort after ids made earlier")
		}
	})

	t.Run("Random", func(t *testing.T) {
		at(t, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
		const n = 100_000
		seen := make(map[string]bool, n)
		var counts [62]int
		for range n {
			id := New("")
			if seen[id] {
				t.Fatalf("duplicate id %q within one millisecond", id)
			}
			seen[id] = true
			for _, c := range id[TimeLen:] {
				counts[strings.IndexRune(alphabet, c)]++
			}
		}
		// Each character is expected n*RandLen/62 ≈ 25,800 times; a
		// biased mapping (such as c%62 over all bytes) is off by ~25%.
		want := float64(n*RandLen) / 62
		for i, c := range counts {
			if d := float64(c) / want; d < 0.95 || d > 1.05 {
				t.Errorf("%q appears %d times, want about %.0f", alphabet[i], c, want)
			}
		}
	})
}

func TestToken(t *testing.T) {
	a, b := Token(), Token()
	if len(a) != 43 || a == b {
		t.Fatalf("Token = %q, %q: want two different 43-character tokens", a, b)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("Token %q decodes to %d bytes, %v", a, len(raw), err)
	}
	// A token carries no time: two made in the same millisecond share no
	// prefix beyond chance.
	at(t, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	same := 0
	for range 1000 {
		if Token()[:4] == Token()[:4] {
			same++
		}
	}
	if same > 1 {
		t.Fatalf("%d of 1000 token pairs share their first 4 characters", same)
	}
}

func TestDerived(t *testing.T) {
	a := Derived("link_", "test", "key_1", "idem-1")
	if a != Derived("link_", "test", "key_1", "idem-1") {
		t.Fatal("not a function of its parts")
	}
	if len(a) != len("link_")+IDLen || a[:5] != "link_" {
		t.Fatalf("Derived = %q", a)
	}
	for _, c := range a[5:] {
		if !strings.ContainsRune(alphabet, c) {
			t.Fatalf("Derived = %q: %q is not base 62", a, c)
		}
	}
	seen := map[string][]string{}
	for _, parts := range [][]string{
		{"test", "key_1", "idem-1"}, {"live", "key_1", "idem-1"}, {"test", "key_2", "idem-1"},
		{"test", "key_1", "idem-2"}, {"test", "key_1idem-1"}, {"test", "key_1i", "dem-1"},
	} {
		id := Derived("link_", parts...)
		if prev, dup := seen[id]; dup {
			t.Fatalf("%v and %v give the same id %s", prev, parts, id)
		}
		seen[id] = parts
	}
}
