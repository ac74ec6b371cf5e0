// Package license is the Exekra license file format, shared by the Hub's
// licensing service and exekractl: a JSON document signed with Ed25519 over a
// domain-separated payload, in one text file with BEGIN/END markers.
//
//	-----BEGIN EXEKRA LICENSE-----
//	<base64 of the document JSON, wrapped at 64 characters>
//	-----END EXEKRA LICENSE-----
//	-----BEGIN EXEKRA LICENSE SIGNATURE-----
//	alg: ed25519
//	key: <base64 Ed25519 public key of the signer>
//	<base64 signature over "exekra-license-v1\n" + the document bytes>
//	-----END EXEKRA LICENSE SIGNATURE-----
//
// The signature is checked before the document is parsed. Unknown document
// fields are ignored, so a newer issuer may add informational fields; a change
// an older Hub must not misread needs a new signing domain (exekra-license-v2).
// Usage reports and receipts for offline validation use the same layout with
// their own labels and signing domains, so one kind of file never passes for another.
package license

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/exekra/hub/libs/errs"
)

// Validation modes.
const (
	ModeOnline  = "online"
	ModeOffline = "offline"
)

// Document is what a license grants. Its JSON bytes are signed exactly as issued.
type Document struct {
	LicenseID  string     `json:"license_id"`
	Licensee   string     `json:"licensee"`
	AdminEmail string     `json:"admin_email"`
	MaxRunners int        `json:"max_runners"`
	IssuedAt   time.Time  `json:"issued_at"`
	NotBefore  time.Time  `json:"not_before"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Validation Validation `json:"validation"`
	// PortalURL is where online validation posts usage reports (required in online mode).
	PortalURL string `json:"portal_url,omitempty"`
}

// Validation says how the Hub proves to the vendor that the license is in use as granted.
type Validation struct {
	Mode          string `json:"mode"`           // online | offline
	IntervalHours int    `json:"interval_hours"` // a validation is due this long after the last one
	GraceDays     int    `json:"grace_days"`     // how long the Hub keeps working once overdue or expired
}

// Reason says why a file was refused.
type Reason string

// Reasons a file is refused.
const (
	ReasonMalformed        Reason = "malformed"
	ReasonTruncated        Reason = "truncated"
	ReasonUnknownAlgorithm Reason = "unknown_algorithm"
	ReasonUntrustedKey     Reason = "untrusted_key"
	ReasonBadSignature     Reason = "bad_signature"
	ReasonInvalidDocument  Reason = "invalid_document"
	ReasonNotYetValid      Reason = "not_yet_valid"
	ReasonExpired          Reason = "expired"
)

// Error is a refused file. It unwraps to an errs.InvalidLicense error with
// the same message, so callers can map it with errs and still read Reason.
type Error struct {
	Reason  Reason
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap makes errs.KindOf(err) == errs.InvalidLicense.
func (e *Error) Unwrap() error { return &errs.Error{Kind: errs.InvalidLicense, Message: e.Message} }

// ReasonOf returns the reason a file was refused, or "" when err is not a refusal.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Bounds that keep every deadline well inside time.Duration.
const (
	maxIntervalHours = 10 * 365 * 24
	maxGraceDays     = 365
)

var licenseKind = kind{label: "EXEKRA LICENSE", domain: "exekra-license-v1\n", noun: "license"}

// Check reports the first field that makes d unusable.
func (d Document) Check() error {
	problem := d.problem()
	if problem == "" {
		return nil
	}
	return &Error{Reason: ReasonInvalidDocument, Message: "the license document is invalid: " + problem}
}

func (d Document) problem() string {
	switch {
	case strings.TrimSpace(d.LicenseID) == "":
		return "license_id is empty"
	case strings.TrimSpace(d.Licensee) == "":
		return "licensee is empty"
	case !validEmail(d.AdminEmail):
		return fmt.Sprintf("admin_email %q is not an email address", d.AdminEmail)
	case d.MaxRunners < 1:
		return "max_runners must be at least 1"
	case d.IssuedAt.IsZero() || d.NotBefore.IsZero() || d.ExpiresAt.IsZero():
		return "issued_at, not_before and expires_at are required"
	case !d.NotBefore.Before(d.ExpiresAt):
		return "expires_at must be after not_before"
	}
	return d.Validation.problem(d.PortalURL)
}

func (v Validation) problem(portalURL string) string {
	switch {
	case v.Mode != ModeOnline && v.Mode != ModeOffline:
		return fmt.Sprintf("validation.mode %q is not online or offline", v.Mode)
	case v.IntervalHours < 1 || v.IntervalHours > maxIntervalHours:
		return fmt.Sprintf("validation.interval_hours must be between 1 and %d", maxIntervalHours)
	case v.GraceDays < 0 || v.GraceDays > maxGraceDays:
		return fmt.Sprintf("validation.grace_days must be between 0 and %d", maxGraceDays)
	case v.Mode == ModeOnline && portalURL == "":
		return "online validation needs portal_url"
	}
	if portalURL != "" {
		u, err := url.Parse(portalURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Sprintf("portal_url %q is not an http(s) URL", portalURL)
		}
	}
	return ""
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// CheckTime refuses a document that is not valid at now.
func (d Document) CheckTime(now time.Time) error {
	if now.Before(d.NotBefore) {
		return &Error{Reason: ReasonNotYetValid, Message: fmt.Sprintf(
			"the license is not valid yet: it starts on %s", d.NotBefore.UTC().Format(time.RFC3339))}
	}
	if !now.Before(d.ExpiresAt) {
		return &Error{Reason: ReasonExpired, Message: fmt.Sprintf(
			"the license expired on %s", d.ExpiresAt.UTC().Format(time.RFC3339))}
	}
	return nil
}
