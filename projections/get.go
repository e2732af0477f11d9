package projections

import (
	"crypto/subtle"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// Get returns the link with id in mode. It returns a *domain.Error with code
// domain.ENOTFOUND when there is no such link, when it belongs to the other
// mode, or when it was deleted. An expired link is returned: whether that
// matters is for the caller to decide, with Link.Expired.
func (s *Store) Get(mode events.Mode, id string) (domain.Link, error) {
	mb, ok := modeByte(mode)
	if !ok {
		return domain.Link{}, fmt.Errorf("%w: %q", ErrMode, mode)
	}
	var l domain.Link
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		key, v, err := s.ids.find(tx.Bucket(bucketLinks), mb, id)
		if err != nil || v == nil {
			return err
		}
		l, found, err = decodeLink(key, v)
		return err
	})
	switch {
	case err != nil:
		return domain.Link{}, fmt.Errorf("projections: get %s: %w", id, err)
	case !found:
		return domain.Link{}, linkNotFound(id)
	}
	return l, nil
}

// GetByToken returns the link whose public URL holds token, in either mode.
// A deleted link is not found: the error is the same *domain.Error as Get's
// but does not name the token, which is a secret.
func (s *Store) GetByToken(token string) (domain.Link, error) {
	var l domain.Link
	var found bool
	id, ok := domain.ParseToken(token)
	if !ok {
		return domain.Link{}, tokenNotFound()
	}
	err := s.view(func(tx *bolt.Tx) error {
		// The token names its link: the link is found by its id, in one
		// mode or the other (ids are unique across modes).
		links := tx.Bucket(bucketLinks)
		for _, mode := range modeBytes {
			key, v, err := s.ids.find(links, mode, id)
			if err != nil {
				return err
			}
			if v != nil {
				l, found, err = decodeLink(key, v)
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return domain.Link{}, fmt.Errorf("projections: get by token: %w", err)
	case !found || subtle.ConstantTimeCompare([]byte(l.Token), []byte(token)) != 1:
		return domain.Link{}, tokenNotFound()
	}
	return l, nil
}

// loadLink reads the link stored under key; a tombstone is not found.
func loadLink(links *bolt.Bucket, key []byte) (domain.Link, bool, error) {
	v := links.Get(key)
	if v == nil {
		return domain.Link{}, false, nil
	}
	return decodeLink(key, v)
}

// decodeLink decodes the record v stored under key; a tombstone is not
// found.
func decodeLink(key, v []byte) (domain.Link, bool, error) {
	st, err := decodeRecord(key, v, true)
	if err != nil || st.deleted {
		return domain.Link{}, false, err
	}
	return st.link, true, nil
}
