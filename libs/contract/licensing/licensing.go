// Package licensing is the NATS contract of the licensing service (v1).
package licensing

import "time"

// Subjects of the licensing service.
const (
	SubjectSetupState  = "exekra.licensing.v1.setup.state"
	SubjectActivate    = "exekra.licensing.v1.license.activate"
	SubjectStatus      = "exekra.licensing.v1.license.status"
	SubjectValidate    = "exekra.licensing.v1.license.validate"
	SubjectUsageReport = "exekra.licensing.v1.license.usage_report"
	SubjectReceipt     = "exekra.licensing.v1.license.receipt"
	// SubjectCheck asks whether an action the license governs is allowed now
	// (used by the runners service before registering a runner or creating a job).
	SubjectCheck = "exekra.licensing.v1.license.check"
	// SubjectAdminEmail gives the active license's admin email (for bootstrap).
	SubjectAdminEmail = "exekra.licensing.v1.license.admin_email"
)

// License statuses.
const (
	StatusActive  = "active"
	StatusGrace   = "grace"
	StatusExpired = "expired"
)

// SetupStateRequest has no fields.
type SetupStateRequest struct{}

// SetupState tells whether a license has been activated.
type SetupState struct {
	Licensed bool `json:"licensed"`
}

// ActivateRequest activates or renews; anonymous only while no license is active.
type ActivateRequest struct {
	License string `json:"license"`
}

// StatusRequest has no fields.
type StatusRequest struct{}

// Status is GET /api/v1/license.
type Status struct {
	LicenseID  string     `json:"license_id"`
	Licensee   string     `json:"licensee"`
	AdminEmail string     `json:"admin_email"`
	MaxRunners int        `json:"max_runners"`
	IssuedAt   time.Time  `json:"issued_at"`
	NotBefore  time.Time  `json:"not_before"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Status     string     `json:"status"` // active | grace | expired
	DaysLeft   int        `json:"days_remaining"`
	Warning    string     `json:"warning,omitempty"` // expiry warning at 30, 14, 7, 1 days
	Validation Validation `json:"validation"`
	Usage      Usage      `json:"usage"`
	// Added: the threshold (30, 14, 7 or 1) the expiry warning has reached, 0 when none.
	WarningDays int `json:"warning_days,omitempty"`
	// Added: when the Hub stops accepting new runners and jobs unless renewed or validated.
	GraceEndsAt time.Time `json:"grace_ends_at"`
	// Added: this installation's id, as usage reports carry it.
	InstallationID string `json:"installation_id"`
	// Added: the system clock is behind the highest time the service has seen;
	// expiry is decided by that time until the clock catches up.
	ClockRollback bool `json:"clock_rollback,omitempty"`
}

// Validation is the state of validation with the vendor portal.
type Validation struct {
	Mode            string     `json:"mode"` // online | offline
	IntervalHours   int        `json:"interval_hours"`
	GraceDays       int        `json:"grace_days"`
	LastValidatedAt *time.Time `json:"last_validated_at"`
	NextDueAt       *time.Time `json:"next_due_at"`
	PendingReports  int        `json:"pending_reports"`
}

// Usage is what the license counts.
type Usage struct {
	Runners int `json:"runners"`
	// Added: why Runners may be wrong (the runners service did not answer).
	Note string `json:"note,omitempty"`
}

// ValidateRequest runs online validation now.
type ValidateRequest struct{}

// UsageReportRequest asks for a signed offline usage report.
type UsageReportRequest struct{}

// UsageReport is a signed file to carry to the portal.
type UsageReport struct {
	FileName string `json:"file_name"`
	Content  string `json:"content"`
}

// ReceiptRequest imports the portal's signed receipt.
type ReceiptRequest struct {
	Receipt string `json:"receipt"`
}

// Actions SubjectCheck knows.
const (
	ActionRunnerRegister = "runner.register"
	ActionJobCreate      = "job.create"
)

// CheckRequest asks whether Action may happen now; Runners is the count after it.
type CheckRequest struct {
	Action  string `json:"action"` // runner.register | job.create
	Runners int    `json:"runners,omitempty"`
}

// CheckResponse is empty when allowed; refusals are errors (license_required, license_limit).
type CheckResponse struct {
	Status string `json:"status"`
}

// AdminEmailRequest has no fields.
type AdminEmailRequest struct{}

// AdminEmail is the active license's admin email; not_found-like license_required when none.
type AdminEmail struct {
	Email string `json:"email"`
}
