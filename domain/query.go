package domain

import (
	"time"

	"github.com/filelinks/filelinks/events"
)

// MaxListLimit is the largest page a list returns, and the most ids a list
// may filter by.
const MaxListLimit = 100

// ValidListLimit reports whether n is a page size a list accepts: 1 to
// MaxListLimit.
func ValidListLimit(n int) bool { return 1 <= n && n <= MaxListLimit }

// ListQuery selects a page of links, newest first. Filters combine.
type ListQuery struct {
	Mode          events.Mode
	FileID        string     // "" = any file
	Expired       *bool      // nil = any; computed with Link.Expired(Now)
	CreatedFrom   *time.Time // inclusive lower bound on Created
	CreatedBefore *time.Time // exclusive upper bound on Created
	IDs           []string   // nil = any; at most MaxListLimit
	Limit         int        // 1..MaxListLimit
	// StartingAfter returns the links just older than this link id;
	// EndingBefore the links just newer than it (still newest first). At
	// most one is set.
	StartingAfter string
	EndingBefore  string
	Now           time.Time
}

// Page is one page of a list. HasMore says whether more links lie beyond it
// in the direction of the cursor (older for StartingAfter or no cursor,
// newer for EndingBefore). A page with no links never has more.
type Page struct {
	Links   []Link
	HasMore bool
}

// FileQuery selects a page of files, newest first, with the same cursor
// rules as ListQuery.
type FileQuery struct {
	Mode          events.Mode
	Purpose       string // "" = any
	CreatedFrom   *time.Time
	CreatedBefore *time.Time
	Limit         int
	StartingAfter string
	EndingBefore  string
}

// FilePage is one page of files.
type FilePage struct {
	Files   []events.FileState
	HasMore bool
}
