// Package randid makes unguessable identifiers from the operating system's
// cryptographic random source. It never derives an id from time or a counter.
package randid

import (
	"crypto/rand"
	"encoding/base64"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// IDLen is the number of random base-62 characters in an id: 24 characters
// carry about 142 bits.
const IDLen = 24

// New returns prefix followed by IDLen random base-62 characters, such as
// "link_4fQ...". The result is a valid NATS subject token and bbolt key.
func New(prefix string) string {
	b := make([]byte, len(prefix)+IDLen)
	copy(b, prefix)
	r := b[len(prefix):]
	fill(r)
	for i, c := range r {
		// 62*4 = 248: reject bytes >= 248 so every character is equally likely.
		for c >= 248 {
			var one [1]byte
			fill(one[:])
			c = one[0]
		}
		r[i] = alphabet[c%62]
	}
	return string(b)
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
