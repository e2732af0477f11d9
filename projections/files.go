package projections

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// The files read model. Files are immutable (FileCreated is their only
// event), so a file is written once and its index entries never move:
//
//	files             mode|id → format | 0 | order key | FileState as JSON
//	files_by_created  mode|order key → id
//	files_by_purpose  mode|purpose|0x00|order key → id
//
// The order key is the file's created time and the sequence of its event,
// at the same offset as in a link record, so cursors resolve the same way.
// fileFormat is the first byte of a file record.
const fileFormat = 1

var (
	bucketFiles          = []byte("files")
	bucketFilesByCreated = []byte("files_by_created")
	bucketFilesByPurpose = []byte("files_by_purpose")
)

// decodeFile reads a file event and checks what the keys rely on.
func decodeFile(b []byte) (*events.FileState, error) {
	fe, err := events.UnmarshalFile(b)
	switch {
	case err != nil:
	case !domain.ValidID(fe.FileID):
		err = fmt.Errorf("%w: invalid file id %q", events.ErrMalformed, fe.FileID)
	case strings.IndexByte(fe.File.Purpose, sepFile) >= 0 || len(fe.File.Purpose) > maxKeyPart:
		err = fmt.Errorf("%w: invalid purpose", events.ErrMalformed)
	}
	if err != nil {
		return nil, err
	}
	return &fe.File, nil
}

// applyFile stores a new file; a file already stored stays as it is.
func applyFile(tx *bolt.Tx, seq uint64, f *events.FileState) error {
	mode, _ := modeByte(f.Mode) // UnmarshalFile checked it
	files := tx.Bucket(bucketFiles)
	key := idKey(mode, f.ID)
	if files.Get(key) != nil {
		return nil
	}
	js, err := json.Marshal(f)
	if err != nil {
		return err
	}
	ok := orderKey(f.Created, seq)
	rec := append(append([]byte{fileFormat, 0}, ok...), js...)
	byCreated := append([]byte{mode}, ok...)
	byPurpose := append(purposePrefix(mode, f.Purpose), ok...)
	for _, kv := range []struct {
		b    []byte
		k, v []byte
	}{{bucketFiles, key, rec}, {bucketFilesByCreated, byCreated, key[1:]}, {bucketFilesByPurpose, byPurpose, key[1:]}} {
		if err := tx.Bucket(kv.b).Put(kv.k, kv.v); err != nil {
			return err
		}
	}
	return nil
}

// GetFile returns the file with id in mode. It returns a *domain.Error with
// code domain.ENOTFOUND when there is no such file in that mode.
func (s *Store) GetFile(mode events.Mode, id string) (events.FileState, error) {
	mb, ok := modeByte(mode)
	if !ok {
		return events.FileState{}, fmt.Errorf("%w: %q", ErrMode, mode)
	}
	key := idKey(mb, id)
	if f, ok := s.files.get(key); ok {
		return f, nil
	}
	var f events.FileState
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		f, found, err = loadFile(tx.Bucket(bucketFiles), key)
		return err
	})
	switch {
	case err != nil:
		return events.FileState{}, fmt.Errorf("projections: get file %s: %w", id, err)
	case !found:
		return events.FileState{}, domain.Errorf(domain.ENOTFOUND, domain.ReasonFileNotFound, "id", "No such file: '%s'", id)
	}
	s.files.put(key, f)
	return f, nil
}

// fileCache keeps files GetFile decoded, which every link created
// for a file looks up. Files are immutable, so an entry is never stale;
// only files found are kept. At most fileCacheSize are kept, and a full
// cache drops an arbitrary one.
type fileCache struct {
	mu sync.Mutex
	m  map[string]events.FileState
}

const fileCacheSize = 4096

func (c *fileCache) get(key []byte) (events.FileState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[string(key)]
	return f, ok
}

func (c *fileCache) put(key []byte, f events.FileState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]events.FileState)
	}
	if len(c.m) >= fileCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(key)] = f
}

// reset empties the cache, for a read model put in place by a rebuild.
func (c *fileCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// ListFiles returns a page of the files q selects, newest first, with the
// same order, cursor rules, limits and errors as List ("No such file" for a
// cursor that names no file of the mode).
func (s *Store) ListFiles(q domain.FileQuery) (domain.FilePage, error) {
	mode, ok := modeByte(q.Mode)
	switch {
	case !ok:
		return domain.FilePage{}, fmt.Errorf("%w: %q", ErrMode, q.Mode)
	case q.StartingAfter != "" && q.EndingBefore != "":
		return domain.FilePage{}, bothCursors()
	}
	limit := q.Limit
	switch {
	case limit < 1:
		limit = defaultLimit
	case limit > domain.MaxListLimit:
		limit = domain.MaxListLimit
	}
	var p domain.FilePage
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		p, err = listFiles(tx, mode, &q, limit)
		return err
	})
	if err != nil {
		if domain.AsError(err) != nil {
			return domain.FilePage{}, err
		}
		return domain.FilePage{}, fmt.Errorf("projections: list files: %w", err)
	}
	return p, nil
}

func listFiles(tx *bolt.Tx, mode byte, q *domain.FileQuery, limit int) (domain.FilePage, error) {
	files := tx.Bucket(bucketFiles)
	var older, newer []byte
	var err error
	if q.StartingAfter != "" {
		if older, err = cursorKey(files.Get(idKey(mode, q.StartingAfter)), q.StartingAfter, "starting_after", invalidFileCursor); err != nil {
			return domain.FilePage{}, err
		}
	}
	if q.EndingBefore != "" {
		if newer, err = cursorKey(files.Get(idKey(mode, q.EndingBefore)), q.EndingBefore, "ending_before", invalidFileCursor); err != nil {
			return domain.FilePage{}, err
		}
	}
	r, empty := newKeyRange(q.CreatedFrom, q.CreatedBefore, older, newer)
	if empty {
		return domain.FilePage{Files: []events.FileState{}}, nil
	}
	it := newRangeIter(tx.Bucket(bucketFilesByCreated), []byte{mode}, r.lo, r.hi, r.desc)
	if q.Purpose != "" {
		it = newRangeIter(tx.Bucket(bucketFilesByPurpose), purposePrefix(mode, q.Purpose), r.lo, r.hi, r.desc)
	}
	p := domain.FilePage{Files: make([]events.FileState, 0, limit)}
	for {
		e, ok := it.next()
		if !ok {
			break
		}
		if len(p.Files) == limit {
			p.HasMore = true
			break
		}
		f, found, err := loadFile(files, idKey(mode, string(e.id)))
		if err != nil {
			return domain.FilePage{}, err
		}
		if !found {
			return domain.FilePage{}, fmt.Errorf("%w: index names missing file %q", errCorrupt, e.id)
		}
		p.Files = append(p.Files, f)
	}
	if err := it.err(); err != nil {
		return domain.FilePage{}, err
	}
	if !r.desc {
		slices.Reverse(p.Files)
	}
	return p, nil
}

func loadFile(files *bolt.Bucket, key []byte) (events.FileState, bool, error) {
	v := files.Get(key)
	if v == nil {
		return events.FileState{}, false, nil
	}
	var f events.FileState
	if len(v) < recordHead || v[0] != fileFormat || json.Unmarshal(v[recordHead:], &f) != nil {
		return events.FileState{}, false, fmt.Errorf("%w: file %q", errCorrupt, key)
	}
	return f, true, nil
}

func invalidFileCursor(param, id string) error {
	return domain.Errorf(domain.EINVALID, ReasonInvalidCursor, param, "No such file: '%s'", id)
}
