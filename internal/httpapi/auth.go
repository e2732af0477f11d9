package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/filelinks/filelinks/events"
)

// Key is an API key as the handlers see it: never the secret itself.
type Key struct {
	// ID identifies the key in events and logs: "key_" and the first 16
	// hex digits of the secret's SHA-256.
	ID   string
	Mode events.Mode
}

// Keys holds the accepted secret keys, by the SHA-256 of the secret, so a
// lookup compares hashes and never the secrets themselves.
type Keys struct {
	byHash map[[32]byte]*Key // pointers: a request keeps its key without a copy
}

// NewKeys accepts sk_test_ keys (test mode) and sk_live_ keys (live mode).
func NewKeys(secrets []string) (*Keys, error) {
	k := &Keys{byHash: map[[32]byte]*Key{}}
	for _, s := range secrets {
		mode, ok := keyMode(s)
		if !ok {
			return nil, errors.New("httpapi: API keys must start with sk_test_ or sk_live_")
		}
		h := sha256.Sum256([]byte(s))
		k.byHash[h] = &Key{ID: "key_" + hex.EncodeToString(h[:8]), Mode: mode}
	}
	return k, nil
}

func keyMode(secret string) (events.Mode, bool) {
	switch {
	case strings.HasPrefix(secret, "sk_test_") && len(secret) > len("sk_test_"):
		return events.ModeTest, true
	case strings.HasPrefix(secret, "sk_live_") && len(secret) > len("sk_live_"):
		return events.ModeLive, true
	}
	return "", false
}

// Lookup returns the key for a presented secret.
func (k *Keys) Lookup(secret string) (*Key, bool) {
	key, ok := k.byHash[sha256.Sum256([]byte(secret))]
	return key, ok
}

// presentedKey extracts the secret from an Authorization header: "Bearer
// <key>", or HTTP Basic with the key as user name and an empty password. It
// returns "" when the header carries no key.
func presentedKey(header string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer":
		return rest
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return ""
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user
	}
	return ""
}

// maskKey shows a presented key as Stripe does in errors: its prefix and
// last four characters.
func maskKey(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	prefix := ""
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"} {
		if strings.HasPrefix(s, p) {
			prefix = p
		}
	}
	if len(s) <= len(prefix)+4 {
		return prefix + "****"
	}
	return prefix + "*********" + s[len(s)-4:]
}
