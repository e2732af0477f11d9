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

// What a file's purpose allows (Stripe's lists).
const (
	// linkable: a link may point to a file of this purpose.
	linkable = 1 << iota
	// uploadable: a client may upload a file with this purpose.
	uploadable
	// linkOnUpload: a link may be created in the same request as the
	// upload (file_link_data[create]).
	linkOnUpload
)

// purposes is every purpose a file may have, with what it allows.
var purposes = map[string]int{
	"account_requirement":            uploadable,
	"additional_verification":        uploadable,
	"business_icon":                  linkable | uploadable | linkOnUpload,
	"business_logo":                  linkable | uploadable | linkOnUpload,
	"customer_signature":             linkable | uploadable | linkOnUpload,
	"dispute_evidence":               linkable | uploadable | linkOnUpload,
	"finance_report_run":             linkable,
	"financial_account_statement":    linkable,
	"identity_document":              uploadable,
	"identity_document_downloadable": linkable,
	"issuing_regulatory_reporting":   linkable | uploadable | linkOnUpload,
	"pci_document":                   linkable | uploadable | linkOnUpload,
	"platform_terms_of_service":      uploadable,
	"selfie":                         linkable,
	"sigma_scheduled_query":          linkable,
	"tax_document_user_upload":       linkable | uploadable | linkOnUpload,
	"terminal_android_apk":           linkable | uploadable | linkOnUpload,
	"terminal_reader_splashscreen":   linkable | uploadable | linkOnUpload,
	"terminal_wifi_certificate":      uploadable,
	"terminal_wifi_private_key":      uploadable,
}

// Linkable reports whether a link may point to a file of this purpose.
func Linkable(purpose string) bool { return purposes[purpose]&linkable != 0 }

// Uploadable reports whether a client may upload a file with this purpose.
func Uploadable(purpose string) bool { return purposes[purpose]&uploadable != 0 }

// LinkableOnUpload reports whether a link may be created together with the
// upload of a file of this purpose.
func LinkableOnUpload(purpose string) bool { return purposes[purpose]&linkOnUpload != 0 }
