package httpapi

import (
	"time"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/events"
)

// stripeFileLink is Stripe's file_link object, field for field.
type stripeFileLink struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	Created   int64             `json:"created"`
	Expired   bool              `json:"expired"`
	ExpiresAt *int64            `json:"expires_at"`
	File      any               `json:"file"` // the file id, or the file object when expanded
	Livemode  bool              `json:"livemode"`
	Metadata  map[string]string `json:"metadata"`
	URL       string            `json:"url"`
}

// stripeFile is Stripe's file object.
type stripeFile struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Created   int64           `json:"created"`
	ExpiresAt *int64          `json:"expires_at"`
	Filename  string          `json:"filename"`
	Links     *stripeLinkList `json:"links"`
	Purpose   string          `json:"purpose"`
	Size      int64           `json:"size"`
	Title     *string         `json:"title"`
	Type      *string         `json:"type"`
	URL       string          `json:"url"`
}

// stripeList is Stripe's list object.
type stripeList[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

type stripeLinkList = stripeList[stripeFileLink]

func unixPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	u := t.Unix()
	return &u
}

// linkURL is the public URL of a link.
func (d *Deps) linkURL(token string) string { return d.PublicURL + "/links/" + token }

func (d *Deps) stripeLink(l domain.Link, now time.Time, file any) stripeFileLink {
	if file == nil {
		file = l.FileID
	}
	md := l.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return stripeFileLink{
		ID:        l.ID,
		Object:    "file_link",
		Created:   l.Created.Unix(),
		Expired:   l.Expired(now),
		ExpiresAt: unixPtr(l.ExpiresAt),
		File:      file,
		Livemode:  l.Mode == events.ModeLive,
		Metadata:  md,
		URL:       d.linkURL(l.Token),
	}
}

func (d *Deps) stripeFile(f events.FileState, links *stripeLinkList) stripeFile {
	out := stripeFile{
		ID:       f.ID,
		Object:   "file",
		Created:  f.Created.Unix(),
		Filename: f.Filename,
		Links:    links,
		Purpose:  f.Purpose,
		Size:     f.Size,
		URL:      d.PublicURL + "/v1/files/" + f.ID + "/contents",
	}
	if f.Title != "" {
		out.Title = &f.Title
	}
	if f.Type != "" {
		out.Type = &f.Type
	}
	return out
}
