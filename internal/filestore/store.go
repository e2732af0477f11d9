package filestore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

var (
	// ErrNotFound is returned when no object has the name, or it was deleted.
	ErrNotFound = errors.New("filestore: object not found")
	// ErrTooLarge is returned by Put when the content is longer than its
	// limit. Nothing is stored.
	ErrTooLarge = errors.New("filestore: content too large")
	// ErrInvalidRange is returned by GetRange when the range does not lie
	// inside the object.
	ErrInvalidRange = errors.New("filestore: range outside the object")
	// ErrCorrupt is returned when the stored chunks do not match the
	// object's description: the SHA-256 of a whole read differs from the
	// recorded one, or a chunk is missing, out of place or of the wrong
	// size.
	ErrCorrupt = errors.New("filestore: stored content does not match its description")
)

// Config describes the bucket and how it is read. The zero value is the
// single-server default.
type Config struct {
	// Bucket is the object store bucket name (its stream is OBJ_<Bucket>).
	// Default "FILELINKS_FILES".
	Bucket string
	// Replicas is the number of replicas of the bucket's stream; 3 on a
	// cluster. Default 1.
	Replicas int
	// ChunkSize is the length of every chunk of an object but the last.
	// Default 512 KiB: a reader's cost is mostly per message (a round
	// trip, several goroutine hand-offs and system calls on each side), so
	// larger chunks serve more bytes per CPU second than the object
	// store's own 128 KiB default, while a chunk plus its headers still
	// fits a cluster's default 1 MiB max_payload. A change applies to
	// objects written afterwards (each records its own); Open fails when
	// a chunk would not fit the connected server's max_payload.
	ChunkSize int
	// ChunkTimeout bounds the wait for one chunk while reading, so a reader
	// of a vanished server fails instead of hanging. Default 30s.
	ChunkTimeout time.Duration
	// ReadAhead is how many bytes of chunks one reader keeps requested
	// ahead of its caller when it knows where they are, so that the round
	// trips of consecutive chunks overlap. Default 1 MiB; a negative value
	// reads one chunk at a time. A reader holds at most ReadAhead plus one
	// chunk, whatever the object's size.
	ReadAhead int
	// ReadAheadTotal bounds the read-ahead of all the store's readers
	// together, shared equally among those reading at the time, so that
	// many downloads at once hold one chunk each plus this much, and queue
	// no more on the connection than its pending limits allow (a server's
	// default max_pending is 64 MiB). A reader whose share is less than a
	// chunk reads one chunk at a time. Default 8 MiB.
	ReadAheadTotal int
}

const (
	defaultBucket         = "FILELINKS_FILES"
	defaultChunkSize      = 512 << 10
	defaultReadAhead      = 1 << 20
	defaultReadAheadTotal = 8 << 20
	// chunkHeadroom is what a chunk message needs beside its payload: the
	// headers a direct get reply adds, with room to spare.
	chunkHeadroom = 4 << 10
)

func (c *Config) setDefaults() {
	if c.Bucket == "" {
		c.Bucket = defaultBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = defaultChunkSize
	}
	if c.ChunkTimeout <= 0 {
		c.ChunkTimeout = 30 * time.Second
	}
	if c.ReadAhead == 0 {
		c.ReadAhead = defaultReadAhead
	}
	if c.ReadAheadTotal <= 0 {
		c.ReadAheadTotal = defaultReadAheadTotal
	}
}

// Store is the file content store.
type Store struct {
	obs    jetstream.ObjectStore
	stream jetstream.Stream
	cfg    Config
	// chunkPrefix and metaPrefix are the object store's subjects for this
	// bucket (ADR-20): chunks on <chunkPrefix><nuid>, descriptions on
	// <metaPrefix><base64url(name)>.
	chunkPrefix, metaPrefix string
	// scans counts range reads that had to scan for their first chunk, and
	// aheads reads that read ahead (tests check that the computed start
	// and read-ahead are used when they can be).
	scans, aheads atomic.Uint64
	// budget is the read-ahead all readers may still request (bytes), and
	// readers how many readers are reading ahead.
	budget, readers atomic.Int64
}

// Open creates the bucket, or updates it to cfg, and returns the store. The
// bucket keeps objects until they are deleted: no age limit and no size
// limit but the server's.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if limit := js.Conn().MaxPayload(); limit > 0 && int64(cfg.ChunkSize+chunkHeadroom) > limit {
		return nil, fmt.Errorf("filestore: ChunkSize %d plus %d bytes of headers does not fit the server's max_payload %d",
			cfg.ChunkSize, chunkHeadroom, limit)
	}
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      cfg.Bucket,
		Description: "filelinks file content",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("filestore: create bucket %s: %w", cfg.Bucket, err)
	}
	st, err := js.Stream(ctx, "OBJ_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("filestore: bucket %s stream: %w", cfg.Bucket, err)
	}
	s := &Store{
		obs:         obs,
		stream:      st,
		cfg:         cfg,
		chunkPrefix: "$O." + cfg.Bucket + ".C.",
		metaPrefix:  "$O." + cfg.Bucket + ".M.",
	}
	s.budget.Store(int64(cfg.ReadAheadTotal))
	return s, nil
}

// Delete removes the object. It returns ErrNotFound when there is none.
func (s *Store) Delete(ctx context.Context, name string) error {
	if name == "" {
		return ErrNotFound
	}
	err := s.obs.Delete(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("filestore: delete %s: %w", name, err)
	}
	return nil
}

// object is what a read needs to know about a stored object.
type object struct {
	info jetstream.ObjectInfo
	// metaSeq is the stream sequence of the description; Put publishes it
	// after the last chunk.
	metaSeq uint64
	// chunk is the length of every chunk but the last when Put wrote the
	// object (so chunk k starts at k*chunk), 0 when unknown.
	chunk int64
	// layout is where the chunks of an interleaved upload are, when Put
	// recorded it.
	layout layout
	// seq0 is the stream sequence of chunk 0 once a read has seen that the
	// chunks fill the sequences just before the description (so chunk k is
	// at seq0+k), 0 until then.
	seq0 uint64
}

func (o *object) size() int64 { return int64(o.info.Size) }

// chunkSeq returns the stream sequence chunk k must be at, when the
// object's layout is known: recorded by Put, or seen to be contiguous.
func (o *object) chunkSeq(k uint32) (uint64, bool) {
	if k >= o.info.Chunks {
		return 0, false
	}
	if seq, ok := o.layout.seq(k); ok {
		return seq, true
	}
	if o.seq0 != 0 {
		return o.seq0 + uint64(k), true
	}
	return 0, false
}

// isContiguous reports whether seq, the sequence of chunk 0, shows that
// the chunks fill the n sequences just before the description. The
// description is published after the last chunk, so all n chunks lie
// before it; when the first is n sequences before it they fill every
// sequence up to it.
func (o *object) isContiguous(seq uint64) bool {
	n := uint64(o.info.Chunks)
	return o.metaSeq > n && seq == o.metaSeq-n
}

// stat reads an object's description with one direct get, as the object
// store's GetInfo does, but keeps the description's stream sequence, which
// GetInfo drops.
func (s *Store) stat(ctx context.Context, name string) (*object, error) {
	if name == "" {
		return nil, ErrNotFound
	}
	msg, err := s.stream.GetLastMsgForSubject(ctx, s.metaPrefix+base64.URLEncoding.EncodeToString([]byte(name)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: stat %s: %w", name, err)
	}
	o := &object{metaSeq: msg.Sequence}
	if err := json.Unmarshal(msg.Data, &o.info); err != nil {
		return nil, fmt.Errorf("filestore: stat %s: %w: %v", name, ErrCorrupt, err)
	}
	if o.info.Deleted {
		return nil, ErrNotFound
	}
	if opts := o.info.Opts; opts != nil {
		if opts.Link != nil {
			return nil, fmt.Errorf("filestore: %s is an object store link, which this store never writes", name)
		}
		if o.info.Metadata[metaChunking] == chunkingFixed {
			o.chunk = int64(opts.ChunkSize)
			o.layout = parseLayout(o.info.Metadata[metaLayout], o.info.NUID, o.info.Chunks)
		}
	}
	if o.info.NUID == "" || (o.info.Size == 0) != (o.info.Chunks == 0) {
		return nil, fmt.Errorf("filestore: stat %s: %w: %d bytes in %d chunks", name, ErrCorrupt, o.info.Size, o.info.Chunks)
	}
	return o, nil
}
