package main

import (
	"context"
	"errors"

	"github.com/filelinks/filelinks/domain"
	"github.com/filelinks/filelinks/internal/httpapi"
	"github.com/filelinks/filelinks/internal/idemstore"
)

// idempotency adapts idemstore.Store to httpapi.IdempotencyStore: the
// store's refusals become the domain's coded errors.
type idempotency struct {
	store   *idemstore.Store
	maxBody int
}

func (i idempotency) MaxBody() int { return i.maxBody }

func (i idempotency) Begin(ctx context.Context, scope, key, fingerprint string) (httpapi.IdempotencyClaim, *httpapi.StoredResponse, error) {
	out, err := i.store.Begin(ctx, scope, key, fingerprint)
	switch {
	case errors.Is(err, idemstore.ErrInUse):
		return nil, nil, domain.IdempotencyInUse()
	case errors.Is(err, idemstore.ErrMismatch):
		return nil, nil, domain.IdempotencyMismatch(key)
	case err != nil:
		return nil, nil, err
	case out.Replay != nil:
		r := out.Replay
		return nil, &httpapi.StoredResponse{Status: r.Status, ContentType: r.ContentType, Body: r.Body, RequestID: r.RequestID}, nil
	}
	return claim{i.store, out.Claim}, nil, nil
}

type claim struct {
	store *idemstore.Store
	c     *idemstore.Claim
}

func (c claim) Complete(ctx context.Context, r httpapi.StoredResponse) error {
	return c.store.Complete(ctx, c.c, idemstore.Response{Status: r.Status, ContentType: r.ContentType, Body: r.Body, RequestID: r.RequestID})
}

func (c claim) Abandon(ctx context.Context) error { return c.store.Abandon(ctx, c.c) }
