package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"
)

// TestStripeSDK drives every /v1 route with the official Go SDK.
func TestStripeSDK(t *testing.T) {
	in := start(t, "")
	sc := in.client(testKey)
	ctx := context.Background()

	// Upload through the SDK's uploads backend, with a link made at upload.
	exp := time.Now().Add(time.Hour).Unix()
	file, err := sc.V1Files.Create(ctx, &stripe.FileCreateParams{
		FileReader: bytes.NewReader(pdf),
		Filename:   stripe.String("evidence.pdf"),
		Purpose:    stripe.String(string(stripe.FilePurposeDisputeEvidence)),
		FileLinkData: &stripe.FileCreateFileLinkDataParams{
			Create:    stripe.Bool(true),
			ExpiresAt: stripe.Int64(exp),
			Metadata:  map[string]string{"order": "42"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if file.Size != int64(len(pdf)) || file.Filename != "evidence.pdf" || file.Type != "pdf" || file.Purpose != stripe.FilePurposeDisputeEvidence {
		t.Fatalf("uploaded file = %+v", file)
	}
	if file.Links == nil || len(file.Links.Data) != 1 || file.Links.Data[0].ExpiresAt != exp || file.Links.Data[0].Metadata["order"] != "42" {
		t.Fatalf("file links = %+v", file.Links)
	}

	t.Run("Files", func(t *testing.T) {
		got, err := sc.V1Files.Retrieve(ctx, file.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != file.ID || got.Size != file.Size || got.URL == "" || len(got.Links.Data) != 1 {
			t.Fatalf("retrieved %+v", got)
		}
		var ids []string
		for f, err := range sc.V1Files.List(ctx, &stripe.FileListParams{Purpose: stripe.String("dispute_evidence")}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, f.ID)
		}
		if len(ids) != 1 || ids[0] != file.ID {
			t.Fatalf("listed %v", ids)
		}
		for f, err := range sc.V1Files.List(ctx, &stripe.FileListParams{Purpose: stripe.String("business_logo")}).All(ctx) {
			t.Fatalf("purpose filter let through %v %v", f, err)
		}
	})

	t.Run("CreateRetrieveUpdate", func(t *testing.T) {
		link, err := sc.V1FileLinks.Create(ctx, &stripe.FileLinkCreateParams{
			File:      stripe.String(file.ID),
			ExpiresAt: stripe.Int64(exp),
			Metadata:  map[string]string{"a": "1", "b": "2"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if link.File.ID != file.ID || link.Expired || link.ExpiresAt != exp || link.Livemode || link.URL == "" || link.Metadata["a"] != "1" {
			t.Fatalf("created %+v", link)
		}
		got, err := sc.V1FileLinks.Retrieve(ctx, link.ID, &stripe.FileLinkRetrieveParams{Expand: []*string{stripe.String("file")}})
		if err != nil {
			t.Fatal(err)
		}
		if got.File.Filename != "evidence.pdf" || got.File.Size != file.Size {
			t.Fatalf("expanded file = %+v", got.File)
		}
		upd := &stripe.FileLinkUpdateParams{Metadata: map[string]string{"a": "", "c": "3"}}
		upd.AddUnsetField(stripe.FileLinkUpdateParamsUnsetFieldExpiresAt)
		got, err = sc.V1FileLinks.Update(ctx, link.ID, upd)
		if err != nil {
			t.Fatal(err)
		}
		if got.ExpiresAt != 0 || got.Metadata["a"] != "" || got.Metadata["b"] != "2" || got.Metadata["c"] != "3" || len(got.Metadata) != 2 {
			t.Fatalf("updated %+v", got)
		}
		got, err = sc.V1FileLinks.Update(ctx, link.ID, &stripe.FileLinkUpdateParams{ExpiresAtNow: stripe.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Expired || got.ExpiresAt == 0 {
			t.Fatalf("expired now: %+v", got)
		}
		// Expired links can no longer be updated.
		_, err = sc.V1FileLinks.Update(ctx, link.ID, &stripe.FileLinkUpdateParams{Metadata: map[string]string{"d": "4"}})
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest || se.Type != stripe.ErrorTypeInvalidRequest {
			t.Fatalf("update of expired link: %v", err)
		}
		// The read after the write shows it (read-your-writes).
		got, err = sc.V1FileLinks.Retrieve(ctx, link.ID, nil)
		if err != nil || !got.Expired {
			t.Fatalf("retrieve after expiry: %+v, %v", got, err)
		}
	})

	t.Run("NotFoundAndModes", func(t *testing.T) {
		_, err := sc.V1FileLinks.Retrieve(ctx, "link_doesnotexist", nil)
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing || se.Msg != "No such file link: 'link_doesnotexist'" {
			t.Fatalf("unknown id: %v", err)
		}
		// Objects of one mode do not exist for the other.
		live := in.client(liveKey)
		if _, err := live.V1Files.Retrieve(ctx, file.ID, nil); !errors.As(err, &se) || se.HTTPStatusCode != 404 {
			t.Fatalf("live retrieve of a test file: %v", err)
		}
		if _, err := live.V1FileLinks.Create(ctx, &stripe.FileLinkCreateParams{File: stripe.String(file.ID)}); !errors.As(err, &se) || se.Code != stripe.ErrorCodeResourceMissing || se.Param != "file" {
			t.Fatalf("live link to a test file: %v", err)
		}
		if _, err := live.V1FileLinks.Retrieve(ctx, file.Links.Data[0].ID, nil); !errors.As(err, &se) || se.HTTPStatusCode != 404 {
			t.Fatalf("live retrieve of a test link: %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		other := in.uploadFile(testKey)
		var made []string
		for i := 0; i < 23; i++ {
			l, err := sc.V1FileLinks.Create(ctx, &stripe.FileLinkCreateParams{File: stripe.String(other)})
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, l.ID)
		}
		// Newest first, all pages, through the SDK's own pagination.
		params := &stripe.FileLinkListParams{File: stripe.String(other)}
		params.Limit = stripe.Int64(5)
		var got []string
		for l, err := range sc.V1FileLinks.List(ctx, params).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, l.ID)
		}
		if len(got) != len(made) {
			t.Fatalf("listed %d links, made %d", len(got), len(made))
		}
		for i := range got {
			if got[i] != made[len(made)-1-i] {
				t.Fatalf("position %d: %s, want %s", i, got[i], made[len(made)-1-i])
			}
		}
		// Backwards from the oldest with ending_before, as the SDK pages.
		params = &stripe.FileLinkListParams{File: stripe.String(other)}
		params.Limit = stripe.Int64(4)
		params.EndingBefore = stripe.String(made[0])
		var back []string
		for l, err := range sc.V1FileLinks.List(ctx, params).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			back = append(back, l.ID)
		}
		if len(back) != len(made)-1 {
			t.Fatalf("ending_before paged %d links, want %d", len(back), len(made)-1)
		}
		// Filters: expired=false keeps all of these; expired=true none.
		params = &stripe.FileLinkListParams{File: stripe.String(other), Expired: stripe.Bool(true)}
		for l, err := range sc.V1FileLinks.List(ctx, params).All(ctx) {
			t.Fatalf("expired=true listed %v %v", l, err)
		}
		params = &stripe.FileLinkListParams{
			File:         stripe.String(other),
			CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: time.Now().Add(-time.Hour).Unix()},
		}
		n := 0
		for _, err := range sc.V1FileLinks.List(ctx, params).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != len(made) {
			t.Fatalf("created[gte] listed %d, want %d", n, len(made))
		}
	})
}

// TestRestart stops the service and starts it again on the same data
// directory: every link and file is still there.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir)
	ctx := context.Background()
	fileID := in.uploadFile(testKey)
	link, err := in.client(testKey).V1FileLinks.Create(ctx, &stripe.FileLinkCreateParams{File: stripe.String(fileID), Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	in.stop()

	again := start(t, dir)
	got, err := again.client(testKey).V1FileLinks.Retrieve(ctx, link.ID, &stripe.FileLinkRetrieveParams{Expand: []*string{stripe.String("file")}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Metadata["k"] != "v" || got.File.ID != fileID || got.URL != link.URL {
		t.Fatalf("after restart: %+v", got)
	}
}
