package app

import (
	"context"
	"errors"
	"io"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// ErrTooLarge is returned by a ContentStore when content exceeds its limit.
var ErrTooLarge = errors.New("app: content too large")

// Content describes stored bytes.
type Content struct {
	Size        int64
	SHA256      string // hex
	ContentType string // detected from the bytes
}

// ContentStore keeps file content (filestore.Store).
type ContentStore interface {
	// Put streams r into the object name, up to maxBytes (else ErrTooLarge
	// and nothing stays stored).
	Put(ctx context.Context, name string, r io.Reader, maxBytes int64) (Content, error)
	Delete(ctx context.Context, name string) error
}

// FileLog appends file events (eventlog.Log).
type FileLog interface {
	AppendFile(ctx context.Context, e events.FileEvent) (uint64, error)
}

// FileReads is the files read model (projections.Store).
type FileReads interface {
	GetFile(mode events.Mode, id string) (events.FileState, error)
	ListFiles(q domain.FileQuery) (domain.FilePage, error)
	WaitFor(ctx context.Context, seq uint64) error
}

// Files runs the file use cases. Links creates the link of an upload that
// asks for one.
type Files struct {
	Content  ContentStore
	Log      FileLog
	Reads    FileReads
	Links    *Links
	MaxBytes int64
}

// Staged is content stored under a new file id that is not a file yet: it
// becomes one with Commit, or is removed with Discard.
type Staged struct {
	FileID   string
	Filename string
	Content
}

// Stage streams the content of an upload into the content store under a new
// file id. A client sees nothing of it until Commit.
func (f *Files) Stage(ctx context.Context, r io.Reader, filename string) (Staged, error) {
	id := f.Links.NewID("file_")
	c, err := f.Content.Put(ctx, id, r, f.MaxBytes)
	if errors.Is(err, ErrTooLarge) {
		return Staged{}, domain.Errorf(domain.EINVALID, domain.ReasonFileTooLarge, "file",
			"The file is larger than the limit of %d bytes.", f.MaxBytes)
	}
	if err != nil {
		return Staged{}, err
	}
	return Staged{FileID: id, Filename: domain.CleanFilename(filename), Content: c}, nil
}

// Discard removes staged content that will not be committed.
func (f *Files) Discard(ctx context.Context, s Staged) error {
	return f.Content.Delete(context.WithoutCancel(ctx), s.FileID)
}

// UploadInput describes the file that staged content becomes.
type UploadInput struct {
	Mode    events.Mode
	Purpose string
	Title   string
	// Link, when set, asks for a link to the new file.
	Link  *domain.LinkSettings
	Audit events.Audit
}

// Commit turns staged content into a file, and makes its link when asked.
// When the input breaks a rule, the staged content is discarded and nothing
// is stored. The link, if any, is returned with the file.
func (f *Files) Commit(ctx context.Context, s Staged, in UploadInput) (events.FileState, *domain.Link, error) {
	now := f.Links.now()
	file := events.FileState{
		ID:          s.FileID,
		Mode:        in.Mode,
		Purpose:     in.Purpose,
		Filename:    s.Filename,
		Title:       in.Title,
		Size:        s.Size,
		ContentType: s.ContentType,
		Type:        domain.FileType(s.ContentType, s.Filename),
		SHA256:      s.SHA256,
		Created:     now,
	}
	if err := domain.CheckUpload(in.Purpose, in.Link, now); err != nil {
		_ = f.Discard(ctx, s)
		return events.FileState{}, nil, err
	}
	seq, err := f.Log.AppendFile(ctx, events.FileEvent{
		ID: f.Links.NewID("evt_"), FileID: file.ID, Mode: in.Mode, Time: now, Audit: in.Audit, File: file,
	})
	if err != nil {
		_ = f.Discard(ctx, s)
		return events.FileState{}, nil, err
	}
	_ = f.Links.waitProjected(ctx, seq) // a link made next finds the file
	if in.Link == nil {
		return file, nil, nil
	}
	link, err := f.Links.Create(ctx, CreateInput{
		Mode: in.Mode, FileID: file.ID, ExpiresAt: in.Link.ExpiresAt, Metadata: in.Link.Metadata, Audit: in.Audit,
	})
	if err != nil {
		// The file is stored and stays; only its link failed.
		return file, nil, err
	}
	return file, &link, nil
}

// Get returns a file.
func (f *Files) Get(ctx context.Context, mode events.Mode, id string) (events.FileState, error) {
	if !domain.ValidID(id) {
		return events.FileState{}, domain.FileNotFound(id)
	}
	return f.Reads.GetFile(mode, id)
}

// List returns a page of files.
func (f *Files) List(ctx context.Context, q domain.FileQuery) (domain.FilePage, error) {
	return f.Reads.ListFiles(q)
}

// LookupFile implements FileLookup for Links from the files read model. A
// file of the other mode is not found, as the domain requires.
func (f *Files) LookupFile(ctx context.Context, mode events.Mode, id string) (domain.File, error) {
	if !domain.ValidID(id) {
		return domain.File{ID: id}, nil
	}
	st, err := f.Reads.GetFile(mode, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.File{ID: id}, nil
	}
	if err != nil {
		return domain.File{}, err
	}
	return domain.File{ID: id, Found: true, Mode: st.Mode, Purpose: st.Purpose}, nil
}
