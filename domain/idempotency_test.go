package domain_test

import (
	"strings"
	"testing"

	"github.com/filelinks/filelinks/domain"
)

// checkRule is checkErr for a rule that may pass: want nil means no error.
func checkRule(t *testing.T, err error, want *domain.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return
	}
	checkErr(t, err, want)
}

func TestCheckIdempotencyKey(t *testing.T) {
	errKey := errWant(domain.EINVALID, domain.ReasonIdempotencyKey, "Idempotency-Key")
	for _, tc := range []struct {
		name    string
		key     string
		wantErr *domain.Error
		wantMsg string
	}{
		{name: "OKNone", key: ""},
		{name: "OK", key: "order-42 retry #1"},
		{name: "OKLongest", key: strings.Repeat("k", domain.MaxIdempotencyKeyLen)},
		{name: "OKPrintableEdges", key: " ~"},
		{name: "ErrTooLong", key: strings.Repeat("k", domain.MaxIdempotencyKeyLen+1), wantErr: errKey,
			wantMsg: "Idempotency keys can be at most 255 characters long."},
		{name: "ErrControl", key: "a\tb", wantErr: errKey, wantMsg: "Idempotency keys may contain only printable ASCII characters."},
		{name: "ErrDelete", key: "a\x7f", wantErr: errKey},
		{name: "ErrNonASCII", key: "ké", wantErr: errKey},
		{name: "ErrInvalidUTF8", key: "a\xff", wantErr: errKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.CheckIdempotencyKey(tc.key)
			checkRule(t, err, tc.wantErr)
			if tc.wantMsg != "" && domain.AsError(err).Message != tc.wantMsg {
				t.Errorf("message %q, want %q", domain.AsError(err).Message, tc.wantMsg)
			}
		})
	}
}

func TestIdempotencyErrors(t *testing.T) {
	m := domain.IdempotencyMismatch("k1")
	if m.Code != domain.EINVALID || m.Reason != domain.ReasonIdempotencyMismatch || m.Param != "Idempotency-Key" ||
		m.Message != "Keys for idempotent requests can only be used with the same parameters they were first used with. "+
			"Try using a key other than 'k1' if you meant to execute a different request." {
		t.Errorf("mismatch: %+v", m)
	}
	long := domain.IdempotencyMismatch(strings.Repeat("k", 300))
	if !strings.Contains(long.Message, "'"+strings.Repeat("k", domain.MaxIdempotencyKeyLen)+"...'") {
		t.Errorf("a long key is not cut: %s", long.Message)
	}
	// A key in use is a conflict: a retry in a moment may succeed.
	if u := domain.IdempotencyInUse(); u.Code != domain.ECONFLICT || u.Reason != domain.ReasonIdempotencyInUse || u.Param != "Idempotency-Key" {
		t.Errorf("in use: %+v", u)
	}
}
