package license

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// UsageReport is what an installation reports to the vendor portal: posted as
// JSON in online mode (a batch is a JSON array of them), or carried as a file
// signed with the installation's own key in offline mode. ReportID is unique,
// so the portal can drop duplicates.
type UsageReport struct {
	ReportID       string    `json:"report_id"`
	LicenseID      string    `json:"license_id"`
	InstallationID string    `json:"installation_id"`
	RunnerCount    int       `json:"runner_count"`
	Version        string    `json:"version"`
	At             time.Time `json:"at"`
	PeriodStart    time.Time `json:"period_start,omitzero"`
	PeriodEnd      time.Time `json:"period_end,omitzero"`
}

// Receipt is the portal's signed statement that it validated one usage report.
type Receipt struct {
	LicenseID      string    `json:"license_id"`
	InstallationID string    `json:"installation_id"`
	ReportID       string    `json:"report_id"`
	ValidatedAt    time.Time `json:"validated_at"`
}

var (
	usageKind   = kind{label: "EXEKRA USAGE REPORT", domain: "exekra-usage-report-v1\n", noun: "usage report"}
	receiptKind = kind{label: "EXEKRA LICENSE RECEIPT", domain: "exekra-license-receipt-v1\n", noun: "receipt"}
)

// SealUsageReport signs r with the installation's key and returns the file.
func SealUsageReport(key ed25519.PrivateKey, r UsageReport) (string, error) {
	if r.ReportID == "" || r.LicenseID == "" || r.InstallationID == "" {
		return "", fmt.Errorf("seal usage report: report_id, license_id and installation_id are required")
	}
	body, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("seal usage report: %w", err)
	}
	return seal(usageKind, key, body), nil
}

// OpenUsageReport checks a usage report file against the key it names and
// returns the report and that key; the portal pins the key per installation.
func OpenUsageReport(text string) (UsageReport, ed25519.PublicKey, error) {
	body, key, err := open(usageKind, text, nil)
	if err != nil {
		return UsageReport{}, nil, err
	}
	var r UsageReport
	if err := decode(usageKind, body, &r); err != nil {
		return UsageReport{}, nil, err
	}
	if r.ReportID == "" || r.LicenseID == "" || r.InstallationID == "" {
		return UsageReport{}, nil, &Error{Reason: ReasonInvalidDocument,
			Message: "the usage report lacks report_id, license_id or installation_id"}
	}
	return r, key, nil
}

// IssueReceipt signs r with the vendor key (one the Hub trusts for licenses).
func IssueReceipt(vendor ed25519.PrivateKey, r Receipt) (string, error) {
	if r.ReportID == "" || r.LicenseID == "" || r.InstallationID == "" || r.ValidatedAt.IsZero() {
		return "", fmt.Errorf("issue receipt: license_id, installation_id, report_id and validated_at are required")
	}
	r.ValidatedAt = r.ValidatedAt.UTC().Truncate(time.Second)
	body, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("issue receipt: %w", err)
	}
	return seal(receiptKind, vendor, body), nil
}

// VerifyReceipt checks a receipt's signature against the trusted vendor keys
// and returns it; whether it matches this installation is the caller's check.
func VerifyReceipt(text string, trusted []ed25519.PublicKey) (Receipt, error) {
	if len(trusted) == 0 {
		return Receipt{}, &Error{Reason: ReasonUntrustedKey,
			Message: "this Hub trusts no license signing key: set license.public_keys (EXEKRA_LICENSE_PUBLIC_KEYS)"}
	}
	body, _, err := open(receiptKind, text, trusted)
	if err != nil {
		return Receipt{}, err
	}
	var r Receipt
	if err := decode(receiptKind, body, &r); err != nil {
		return Receipt{}, err
	}
	if strings.TrimSpace(r.ReportID) == "" || r.LicenseID == "" || r.InstallationID == "" || r.ValidatedAt.IsZero() {
		return Receipt{}, &Error{Reason: ReasonInvalidDocument,
			Message: "the receipt lacks license_id, installation_id, report_id or validated_at"}
	}
	return r, nil
}
