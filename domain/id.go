package domain

// MaxIDLen is the longest id accepted anywhere.
const MaxIDLen = 255

// ValidID reports whether s can be an object id: 1 to MaxIDLen bytes of
// ASCII letters, digits, '_' and '-'. Ids become part of NATS subjects and
// bbolt keys, so nothing else is allowed.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
