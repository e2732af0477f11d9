package domain

import "strings"

// A link's token is the last segment of its public URL. A token names its
// link: the link's id, a dot, then the secret, 43 characters of unpadded
// base64url (256 random bits):
//
//	link_0ce3Fq5W4fQ2kXa9LmPq7RtZ.Xy7-q_...
//
// The read model finds the link by the id in the token, under the key it
// stores the link by, and compares the whole token; so it keeps no index of
// tokens, which would take a random insert into a B+tree for every link
// created. Stripe's public file-link URLs name their link too. The id says
// nothing secret: it is the link's API id, usable only with an API key.
const (
	// SecretLen is the length of a token's secret.
	SecretLen = 43
	// tokenSep ends the link id in a token; neither an id nor base64url
	// holds it.
	tokenSep = '.'
)

// LinkToken returns the token of link linkID with secret.
func LinkToken(linkID, secret string) string { return linkID + string(tokenSep) + secret }

// ParseToken checks the shape of a token, before any lookup, and returns
// the link id it names. ok is false for anything that is not a token.
func ParseToken(s string) (linkID string, ok bool) {
	i := strings.LastIndexByte(s, tokenSep)
	if i < 0 {
		return "", false
	}
	linkID, secret := s[:i], s[i+1:]
	if !strings.HasPrefix(linkID, "link_") || !ValidID(linkID) || len(secret) != SecretLen {
		return "", false
	}
	for i := 0; i < len(secret); i++ {
		c := secret[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return linkID, true
}
