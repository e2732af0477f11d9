package domain

import (
	"maps"
	"sort"
	"strings"
	"unicode/utf8"
)

// Metadata limits.
const (
	MaxMetadataKeys     = 50
	MaxMetadataKeyLen   = 40  // characters
	MaxMetadataValueLen = 500 // characters
)

// MetadataPatch is a change to a link's metadata. Clear removes every key
// first; then each entry of Set with a non-empty value sets that key and each
// entry with an empty value removes it.
type MetadataPatch struct {
	Clear bool
	Set   map[string]string
}

func (p MetadataPatch) empty() bool { return !p.Clear && len(p.Set) == 0 }

// validate checks each key and value of the patch.
func (p MetadataPatch) validate() error {
	for k, v := range p.Set {
		switch {
		case k == "" || !utf8.ValidString(k) || utf8.RuneCountInString(k) > MaxMetadataKeyLen || strings.ContainsAny(k, "[]"):
			return Errorf(EINVALID, ReasonMetadataKey, "metadata",
				"Invalid key: %q must be a non-empty string of at most %d characters without '[' or ']'.", k, MaxMetadataKeyLen)
		case !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxMetadataValueLen:
			return Errorf(EINVALID, ReasonMetadataValue, "metadata",
				"Invalid value for key %q: must be a string of at most %d characters.", k, MaxMetadataValueLen)
		}
	}
	return nil
}

// apply returns the metadata after the patch, and a description of the
// change as the client asked for it: whether everything was cleared first,
// what was set, what was unset (sorted). A patch that ends where it started
// is described as no change at all. It never modifies old.
func (p MetadataPatch) apply(old map[string]string) (next map[string]string, cleared bool, set map[string]string, unset []string) {
	base := old
	if p.Clear && len(old) > 0 {
		base = nil
		cleared = true
	}
	next = make(map[string]string, len(base)+len(p.Set))
	maps.Copy(next, base)
	for k, v := range p.Set {
		cur, ok := next[k]
		switch {
		case v == "" && ok:
			delete(next, k)
			unset = append(unset, k)
		case v != "" && cur != v:
			next[k] = v
			if set == nil {
				set = map[string]string{}
			}
			set[k] = v
		}
	}
	if maps.Equal(next, old) {
		return next, false, nil, nil
	}
	sort.Strings(unset)
	return next, cleared, set, unset
}

func tooManyKeys(n int) error {
	return Errorf(EINVALID, ReasonMetadataKeys, "metadata",
		"Metadata can have up to %d keys, but you've set %d.", MaxMetadataKeys, n)
}
