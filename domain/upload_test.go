package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/filelinks/filelinks/domain"
)

func TestCheckUpload(t *testing.T) {
	settings := func(exp *time.Time, md map[string]string) *domain.LinkSettings {
		return &domain.LinkSettings{ExpiresAt: exp, Metadata: domain.MetadataPatch{Set: md}}
	}
	many := map[string]string{}
	for i := range domain.MaxMetadataKeys + 1 {
		many[fmt.Sprint("k", i)] = "v"
	}
	for _, tc := range []struct {
		name    string
		purpose string
		link    *domain.LinkSettings
		wantErr *domain.Error
	}{
		{name: "OK", purpose: "dispute_evidence"},
		{name: "OKUploadableNotLinkable", purpose: "identity_document"},
		{name: "OKWithLink", purpose: "dispute_evidence", link: settings(new(t0.Add(time.Hour)), map[string]string{"k": "v"})},
		{name: "OKWithLinkNoSettings", purpose: "pci_document", link: settings(nil, nil)},
		{name: "ErrPurposeMissing", wantErr: errWant(domain.EINVALID, domain.ReasonMissingParam, "purpose")},
		{name: "ErrPurposeMissingBeforeLink", link: settings(new(t0.Add(-time.Hour)), nil),
			wantErr: errWant(domain.EINVALID, domain.ReasonMissingParam, "purpose")},
		{name: "ErrPurposeNotUploadable", purpose: "finance_report_run",
			wantErr: errWant(domain.EINVALID, domain.ReasonInvalidParam, "purpose")},
		{name: "ErrPurposeUnknown", purpose: "nope", wantErr: errWant(domain.EINVALID, domain.ReasonInvalidParam, "purpose")},
		{name: "ErrNotLinkableOnUpload", purpose: "identity_document", link: settings(nil, nil),
			wantErr: errWant(domain.EINVALID, domain.ReasonFileNotLinkable, "file_link_data[create]")},
		{name: "ErrLinkExpiresAtPast", purpose: "dispute_evidence", link: settings(new(t0), nil),
			wantErr: errWant(domain.EINVALID, domain.ReasonExpiresAtPast, "expires_at")},
		{name: "ErrLinkMetadataKey", purpose: "dispute_evidence", link: settings(nil, map[string]string{"a[b]": "v"}),
			wantErr: errWant(domain.EINVALID, domain.ReasonMetadataKey, "metadata")},
		{name: "ErrLinkMetadataKeys", purpose: "dispute_evidence", link: settings(nil, many),
			wantErr: errWant(domain.EINVALID, domain.ReasonMetadataKeys, "metadata")},
		{name: "ErrLinkExpiryBeforeMetadata", purpose: "dispute_evidence", link: settings(new(t0.Add(-time.Hour)), map[string]string{"": "v"}),
			wantErr: errWant(domain.EINVALID, domain.ReasonExpiresAtPast, "expires_at")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRule(t, domain.CheckUpload(tc.purpose, tc.link, t0), tc.wantErr)
		})
	}
}

// TestCheckUpload_SameAsCreate: the settings of a link made with an upload
// are refused exactly when a create of that link would refuse them.
func TestCheckUpload_SameAsCreate(t *testing.T) {
	for _, s := range []domain.LinkSettings{
		{},
		{ExpiresAt: new(t0.Add(time.Second))},
		{ExpiresAt: new(t0.Add(999 * time.Millisecond))},
		{Metadata: domain.MetadataPatch{Set: map[string]string{"k": strings.Repeat("v", domain.MaxMetadataValueLen+1)}}},
		{Metadata: domain.MetadataPatch{Clear: true, Set: map[string]string{"k": ""}}},
	} {
		upload := domain.CheckUpload("dispute_evidence", &s, t0)
		_, create := domain.Decide(domain.Link{ID: testLinkID, Mode: testMode},
			newLink(func(c *domain.CreateLink) { c.ExpiresAt, c.Metadata = s.ExpiresAt, s.Metadata }), t0)
		if (upload == nil) != (create == nil) || (upload != nil && domain.AsError(upload).Reason != domain.AsError(create).Reason) {
			t.Errorf("%+v: upload %v, create %v", s, upload, create)
		}
	}
}

func TestRequireFile(t *testing.T) {
	checkRule(t, domain.RequireFile("file_1"), nil)
	checkRule(t, domain.RequireFile(""), errWant(domain.EINVALID, domain.ReasonFileMissing, "file"))
	if e := domain.AsError(domain.RequireFile("")); e.Message != "Missing required param: file." {
		t.Errorf("message %q", e.Message)
	}
}

func TestFileNotFound(t *testing.T) {
	e := domain.FileNotFound("file_x")
	if e.Code != domain.ENOTFOUND || e.Reason != domain.ReasonFileNotFound || e.Param != "id" || e.Message != "No such file: 'file_x'" {
		t.Errorf("%+v", e)
	}
}

func TestValidListLimit(t *testing.T) {
	for n, want := range map[int]bool{-1: false, 0: false, 1: true, 10: true, domain.MaxListLimit: true, domain.MaxListLimit + 1: false} {
		if got := domain.ValidListLimit(n); got != want {
			t.Errorf("ValidListLimit(%d) = %v, want %v", n, got, want)
		}
	}
}
