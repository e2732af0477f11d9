package domain

import "github.com/filelinks/filelinks/events"

// File is what a link command needs to know about the file it points to. The
// caller looks it up and passes it in, which keeps Decide pure.
type File struct {
	ID      string
	Found   bool // false when no file with ID exists in any mode
	Mode    events.Mode
	Purpose string
}

// linkablePurposes are the file purposes a link may point to (Stripe's list).
var linkablePurposes = map[string]bool{
	"business_icon":                  true,
	"business_logo":                  true,
	"customer_signature":             true,
	"dispute_evidence":               true,
	"finance_report_run":             true,
	"financial_account_statement":    true,
	"identity_document_downloadable": true,
	"issuing_regulatory_reporting":   true,
	"pci_document":                   true,
	"selfie":                         true,
	"sigma_scheduled_query":          true,
	"tax_document_user_upload":       true,
	"terminal_android_apk":           true,
	"terminal_reader_splashscreen":   true,
}

// Linkable reports whether a link may point to a file of this purpose.
func Linkable(purpose string) bool { return linkablePurposes[purpose] }

// uploadPurposes are the purposes a client may give a file it uploads
// (Stripe's upload list).
var uploadPurposes = map[string]bool{
	"account_requirement":          true,
	"additional_verification":      true,
	"business_icon":                true,
	"business_logo":                true,
	"customer_signature":           true,
	"dispute_evidence":             true,
	"identity_document":            true,
	"issuing_regulatory_reporting": true,
	"pci_document":                 true,
	"platform_terms_of_service":    true,
	"tax_document_user_upload":     true,
	"terminal_android_apk":         true,
	"terminal_reader_splashscreen": true,
	"terminal_wifi_certificate":    true,
	"terminal_wifi_private_key":    true,
}

// Uploadable reports whether a client may upload a file with this purpose.
func Uploadable(purpose string) bool { return uploadPurposes[purpose] }

// linkOnUploadPurposes are the purposes for which a link may be created in
// the same request as the upload (file_link_data[create]).
var linkOnUploadPurposes = map[string]bool{
	"business_icon":                true,
	"business_logo":                true,
	"customer_signature":           true,
	"dispute_evidence":             true,
	"issuing_regulatory_reporting": true,
	"pci_document":                 true,
	"tax_document_user_upload":     true,
	"terminal_android_apk":         true,
	"terminal_reader_splashscreen": true,
}

// LinkableOnUpload reports whether a link may be created together with the
// upload of a file of this purpose.
func LinkableOnUpload(purpose string) bool { return linkOnUploadPurposes[purpose] }
