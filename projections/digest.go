package projections

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"

	bolt "go.etcd.io/bbolt"
)

// Digest returns a hash of the whole read model: every bucket's name and
// every key and value in order, but not how bbolt laid them out on pages.
// Two stores that applied the same stream, in any batch sizes and with any
// number of restarts, have the same Digest; a rebuild is checked that way.
// The bookkeeping of the file itself (the boot it was opened in, whether it
// was closed cleanly) is not content and is left out.
func (s *Store) Digest() (string, error) {
	h := sha256.New()
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			writeField(h, 'B', name)
			return b.ForEach(func(k, v []byte) error {
				if bytes.Equal(name, bucketMeta) && (bytes.Equal(k, keyOpenBoot) || bytes.Equal(k, keyClean)) {
					return nil
				}
				writeField(h, 'K', k)
				writeField(h, 'V', v)
				return nil
			})
		})
	})
	if err != nil {
		return "", fmt.Errorf("projections: digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeField writes a tag, a length and the bytes, so that no two different
// contents hash the same input.
func writeField(h hash.Hash, tag byte, b []byte) {
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = tag
	n := binary.PutUvarint(head[1:], uint64(len(b)))
	h.Write(head[:1+n])
	h.Write(b)
}
