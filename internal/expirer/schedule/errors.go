package schedule

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrLocked is returned by Open when another open Schedule, in this or
// another process, holds the file for longer than Options.Timeout.
var ErrLocked = errors.New("schedule: file is locked by another schedule")

// ErrSchema is returned by Open when the file has another layout. Delete
// the file: it is rebuilt from the stream.
var ErrSchema = errors.New("schedule: file has another layout")

// DefaultTimeout is the lock timeout when Options.Timeout is 0.
const DefaultTimeout = time.Second

// openDB opens the bbolt file with o and the options of the read model's
// files (projections): the freelist is rebuilt by scanning the file on
// open instead of being written on every commit, which makes commits
// cheaper, and the map freelist stays fast in a large file. A lock not had
// within o.Timeout is ErrLocked.
func openDB(path string, o bolt.Options) (*bolt.DB, error) {
	o.NoFreelistSync, o.FreelistType = true, bolt.FreelistMapType
	db, err := bolt.Open(path, 0o600, &o)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s: no lock after %s: %w", ErrLocked, path, o.Timeout, err)
	}
	return db, err
}
