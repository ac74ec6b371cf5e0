// Package license is the licensing service's domain: which license governs
// the Hub, what it allows now (active, grace, expired), validation with the
// vendor portal (online reports, offline report and receipt) and the clock
// the service trusts. It owns the interfaces its adapters implement.
package license

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

// License is the active license as the Hub holds it.
type License struct {
	Document        licfile.Document
	File            string     // the license file as activated
	Signature       string     // base64, as the file carries it
	ActivatedAt     time.Time  // first activation of this license id here: the validation baseline
	LastValidatedAt *time.Time // last successful validation (portal or receipt); nil before the first
}

// Installation is this Hub's identity towards the vendor portal, made once.
type Installation struct {
	ID  string
	Key ed25519.PrivateKey // signs offline usage reports
}

// ClockState is what the service remembers about time.
type ClockState struct {
	HighestSeen   time.Time
	RollbackSince *time.Time // set while a detected clock rollback lasts
}

// Report is a usage report as the Hub keeps it.
type Report struct {
	licfile.UsageReport
	Mode      string     // online (queued for the portal) | offline (exported as a file)
	SentAt    *time.Time // online: when the portal accepted it
	ReceiptAt *time.Time // offline: validated_at of its imported receipt
}

// Outcome is what one validation step changes; a store writes it in one
// transaction together with its audit event.
type Outcome struct {
	NewReport   *Report    // a report made by this step (queued, sent or exported)
	SentIDs     []string   // reports the portal accepted, marked sent at At
	ReceiptFor  string     // report id an imported receipt validated
	ValidatedAt *time.Time // moves the active license's last validation forward (never back)
	At          time.Time
	Event       *audit.Event
}

// Store keeps licenses, the installation, the clock state and usage reports.
type Store interface {
	// ActiveLicense returns the license in force, or ErrNoLicense.
	ActiveLicense(ctx context.Context) (License, error)
	// ReplaceLicense runs fn with the current license (nil when none) under a
	// lock and, unless fn fails, makes its license the active one and writes
	// its event, all in one transaction.
	ReplaceLicense(ctx context.Context, fn func(ctx context.Context, current *License) (License, audit.Event, error)) error
	// PriorActivation returns when licenseID was first activated and last
	// validated here, or nil when it never was.
	PriorActivation(ctx context.Context, licenseID string) (*License, error)
	// Audit writes one event in its own transaction (refusals, failures).
	Audit(ctx context.Context, ev audit.Event) error
	// EnsureInstallation stores candidate unless an installation exists, and returns the stored one.
	EnsureInstallation(ctx context.Context, candidate Installation, now time.Time) (Installation, error)
	Clock(ctx context.Context) (ClockState, error)
	// UpdateClock applies fn to the clock state under a row lock, writing the
	// new state and the event fn returns (if any) in one transaction.
	UpdateClock(ctx context.Context, fn func(ClockState) (ClockState, *audit.Event)) (ClockState, error)
	Record(ctx context.Context, o Outcome) error
	PendingReports(ctx context.Context) ([]licfile.UsageReport, error)
	CountPending(ctx context.Context) (int, error)
	// LastReportAt is when the newest report of mode for licenseID was made (zero when none).
	LastReportAt(ctx context.Context, licenseID, mode string) (time.Time, error)
	// FindReport returns a report by id, or an errs.NotFound error.
	FindReport(ctx context.Context, reportID string) (Report, error)
	// WithValidationLock runs fn while holding the installation-wide
	// validation lock; without wait it reports false when another holds it.
	WithValidationLock(ctx context.Context, wait bool, fn func(ctx context.Context) error) (bool, error)
}

// Portal delivers usage reports to the vendor portal at url, all in one batch.
type Portal interface {
	Send(ctx context.Context, url string, reports []licfile.UsageReport) error
}

// RunnerCounter tells how many runners are registered.
type RunnerCounter interface {
	CountRunners(ctx context.Context) (int, error)
}

// Clock tells the time; tests control it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the machine's clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// ErrNoLicense is returned while no license is active.
var ErrNoLicense = errs.E(errs.LicenseRequired, "no license is active; activate a license first")

// Audit actions.
const (
	ActionActivate      = "license.activate"
	ActionValidate      = "license.validate"
	ActionUsageReport   = "license.usage_report"
	ActionClockRollback = "license.clock_rollback"
)

func target(licenseID string) audit.Target { return audit.Target{Type: "license", ID: licenseID} }
