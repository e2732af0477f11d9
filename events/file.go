package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TypeFileCreated is the type of the one file event: a file's content was
// stored and the file exists from now on. Files are immutable, so there is no
// other file event.
const TypeFileCreated = "FileCreated"

// FileSubjectPrefix is the first part of every file event subject:
// filelinks.files.<mode>.<file id>.
const FileSubjectPrefix = "filelinks.files"

// FileSubjectAll matches every file event.
const FileSubjectAll = FileSubjectPrefix + ".>"

// FileSubject returns the subject of one file's events.
func FileSubject(mode Mode, fileID string) string {
	return FileSubjectPrefix + "." + string(mode) + "." + fileID
}

// IsFileSubject reports whether subject holds file events.
func IsFileSubject(subject string) bool {
	return strings.HasPrefix(subject, FileSubjectPrefix+".")
}

// FileEvent records a stored file. Its content lives in the object store
// under File.ID; the event is appended only after the content is stored.
type FileEvent struct {
	Schema int       `json:"schema"`
	ID     string    `json:"id"`
	Type   string    `json:"type"` // TypeFileCreated
	FileID string    `json:"file_id"`
	Mode   Mode      `json:"mode"`
	Time   time.Time `json:"time"`
	Audit  Audit     `json:"audit"`
	File   FileState `json:"file"`
}

// FileState describes a stored file.
type FileState struct {
	ID       string `json:"id"`
	Mode     Mode   `json:"mode"`
	Purpose  string `json:"purpose"`
	Filename string `json:"filename"`
	Title    string `json:"title,omitempty"`
	Size     int64  `json:"size"`
	// ContentType was detected from the content, never taken from the client.
	ContentType string `json:"content_type"`
	// Type is the short type shown to clients ("pdf", "png", "csv", ...).
	Type    string    `json:"type"`
	SHA256  string    `json:"sha256"` // hex digest of the content
	Created time.Time `json:"created"`
}

// MarshalFile encodes a file event.
func MarshalFile(e FileEvent) ([]byte, error) {
	e.Schema = Schema
	e.Type = TypeFileCreated
	return json.Marshal(e)
}

// UnmarshalFile decodes a file event. Its errors wrap ErrMalformed or
// ErrUnsupported.
func UnmarshalFile(b []byte) (FileEvent, error) {
	if err := checkSchema(b); err != nil {
		return FileEvent{}, err
	}
	var e FileEvent
	if err := json.Unmarshal(b, &e); err != nil {
		return FileEvent{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case e.ID == "" || e.Type == "" || e.FileID == "" || !e.Mode.Valid() || e.File.ID != e.FileID || e.File.Mode != e.Mode:
		return FileEvent{}, fmt.Errorf("%w: file event missing id, type, file_id or mode", ErrMalformed)
	case e.Type != TypeFileCreated:
		return FileEvent{}, fmt.Errorf("%w: file event type %q", ErrUnsupported, e.Type)
	}
	return e, nil
}
