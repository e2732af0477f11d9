package app

import (
	"context"
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// Shared is what a public link URL leads to.
type Shared struct {
	Link domain.Link
	File events.FileState
	// Expired is the link's state at the moment of the request.
	Expired bool
	// Remaining is how long the link stays usable (0 when expired; -1 when
	// it has no expiry).
	Remaining time.Duration
}

// ErrLinkGone is the error for a public URL whose link existed and has
// expired: the API answers 410, where an unknown token is a 404.
var ErrLinkGone = domain.Errorf(domain.ENOTFOUND, domain.ReasonLinkExpired, "", "This link has expired.")

// Open resolves the token of a public URL to its link and file, checking
// expiry against the clock now, so a link is refused from its expires_at
// on even before the expirer's event lands. Unknown and deleted tokens give
// the same not-found error.
func (f *Files) Open(ctx context.Context, token string) (Shared, error) {
	link, err := f.Links.GetByToken(ctx, token)
	if err != nil {
		return Shared{}, err
	}
	now := f.Links.now()
	if link.Expired(now) {
		return Shared{Link: link, Expired: true}, ErrLinkGone
	}
	file, err := f.Reads.GetFile(link.Mode, link.FileID)
	if err != nil {
		return Shared{}, err
	}
	rem := time.Duration(-1)
	if link.ExpiresAt != nil {
		rem = link.ExpiresAt.Sub(now)
	}
	return Shared{Link: link, File: file, Remaining: rem}, nil
}
