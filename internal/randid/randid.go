// Package randid makes identifiers and secret tokens from the operating
// system's cryptographic random source.
//
// An id (New) starts with the time it was made: the Unix milliseconds in 8
// fixed-width base-62 characters, then 16 random base-62 characters (about
// 95 bits). Ids made later sort after ids made earlier (to the millisecond),
// so a bbolt B+tree keyed by ids (the read model's files) receives each new
// id at its right edge:
// an insert touches the last page, which the next insert touches again,
// instead of a random page each, which bbolt rewrites whole at every
// commit (about 90,000 random inserts per second per bucket against
// 600,000 in order). The random part keeps ids
// unguessable and unique, with no coordination between processes; the cost
// is that an id tells when its object was made, which the object's created
// time tells anyway.
//
// A token (Token) is the secret of a public URL (domain.LinkToken puts the
// link id before it): it is entirely random, 256 bits, and never derived
// from the time.
package randid

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// IDLen is the number of base-62 characters in an id after its prefix:
// TimeLen characters of time, then RandLen random ones.
const (
	IDLen   = TimeLen + RandLen
	TimeLen = 8  // Unix milliseconds; 62^8 ms last until the year 8888
	RandLen = 16 // about 95 bits
)

// now is the clock of New; tests replace it.
var now = time.Now

// New returns prefix followed by IDLen base-62 characters, such as
// "link_0ce3Fq5W4fQ...": the current Unix milliseconds in TimeLen characters
// and RandLen random ones. The result is a valid NATS subject token and
// bbolt key, and ids with the same prefix sort by the millisecond they were
// made in.
func New(prefix string) string {
	b := make([]byte, len(prefix)+IDLen)
	copy(b, prefix)
	putTime(b[len(prefix):len(prefix)+TimeLen], now().UnixMilli())
	fillBase62(b[len(prefix)+TimeLen:])
	return string(b)
}

// putTime writes ms in base 62, most significant digit first, zero-padded
// to len(dst), so that the strings sort like the numbers. A time before 1970
// is written as 0.
func putTime(dst []byte, ms int64) {
	v := uint64(max(ms, 0))
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = alphabet[v%62]
		v /= 62
	}
}

// fillBase62 fills dst with random base-62 characters.
func fillBase62(dst []byte) {
	fill(dst)
	for i, c := range dst {
		// 62*4 = 248: reject bytes >= 248 so every character is equally likely.
		for c >= 248 {
			var one [1]byte
			fill(one[:])
			c = one[0]
		}
		dst[i] = alphabet[c%62]
	}
}

// Token returns 32 random bytes (256 bits) encoded as unpadded base64url: 43
// characters, safe in a URL path.
func Token() string {
	var b [32]byte
	fill(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func fill(b []byte) {
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
}

// Derived returns prefix followed by IDLen base-62 characters that are a
// function of parts alone (SHA-256 of the parts, each ended by a NUL): the
// same parts give the same id in every process. It is for an id that a
// retried request must find again, such as the link of a create with an
// idempotency key. Unlike New it is not time-ordered, and it is exactly as
// guessable as its parts.
func Derived(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	b := make([]byte, len(prefix)+IDLen)
	copy(b, prefix)
	// 24 characters from 192 bits: each byte picks one of 62 characters,
	// a bias of under 4 % that costs under 0.1 bit per character.
	for i := range IDLen {
		b[len(prefix)+i] = alphabet[sum[i]%62]
	}
	return string(b)
}
