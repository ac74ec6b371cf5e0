package license

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/google/uuid"
)

// Validate runs online validation now: a new usage report joins the queued
// ones and the whole batch goes to the portal. An unreachable portal is not
// an error: the report stays queued and the status says so.
func (s *Service) Validate(ctx context.Context) (Snapshot, error) {
	lic, err := s.cfg.Store.ActiveLicense(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if lic.Document.Validation.Mode != licfile.ModeOnline {
		return Snapshot{}, errs.E(errs.InvalidArgument,
			"this license is validated offline: download a usage report and import the portal's receipt")
	}
	if _, err := s.cfg.Store.WithValidationLock(ctx, true, func(ctx context.Context) error {
		return s.validateLocked(ctx, lic)
	}); err != nil {
		return Snapshot{}, fmt.Errorf("validate license: %w", err)
	}
	return s.Status(ctx)
}

// tickLocked makes the report that is due, or offers the queued ones again.
func (s *Service) tickLocked(ctx context.Context, lic License) error {
	at, _, err := s.effectiveNow(ctx)
	if err != nil {
		return err
	}
	last, err := s.cfg.Store.LastReportAt(ctx, lic.Document.LicenseID, licfile.ModeOnline)
	if err != nil {
		return fmt.Errorf("last usage report: %w", err)
	}
	interval := time.Duration(lic.Document.Validation.IntervalHours) * time.Hour
	if last.IsZero() || !at.Before(last.Add(interval)) {
		return s.validateLocked(ctx, lic)
	}
	if !s.retryDue() {
		return nil
	}
	return s.flush(ctx, lic, at)
}

// validateLocked makes a report and sends it with the queued ones.
func (s *Service) validateLocked(ctx context.Context, lic License) error {
	at, err := s.observe(ctx)
	if err != nil {
		return err
	}
	report, err := s.newReport(ctx, lic, at, licfile.ModeOnline)
	if err != nil {
		return err
	}
	pending, err := s.cfg.Store.PendingReports(ctx)
	if err != nil {
		return fmt.Errorf("queued usage reports: %w", err)
	}
	batch := append(pending, report.UsageReport)
	o := Outcome{NewReport: &report, At: at}
	if err := s.send(ctx, lic, batch); err != nil {
		o.Event = validationFailed(lic, len(batch))
	} else {
		o.SentIDs, o.ValidatedAt = reportIDs(batch), &at
		o.Event = validated(lic, len(batch))
	}
	if err := s.cfg.Store.Record(ctx, o); err != nil {
		return fmt.Errorf("record validation: %w", err)
	}
	return nil
}

// flush offers the queued reports again; a failure is only logged.
func (s *Service) flush(ctx context.Context, lic License, at time.Time) error {
	pending, err := s.cfg.Store.PendingReports(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	if err := s.send(ctx, lic, pending); err != nil {
		return nil
	}
	o := Outcome{SentIDs: reportIDs(pending), ValidatedAt: &at, At: at, Event: validated(lic, len(pending))}
	if err := s.cfg.Store.Record(ctx, o); err != nil {
		return fmt.Errorf("record validation: %w", err)
	}
	return nil
}

func (s *Service) send(ctx context.Context, lic License, batch []licfile.UsageReport) error {
	s.mu.Lock()
	s.lastAttempt = s.cfg.Clock.Now()
	s.mu.Unlock()
	err := s.cfg.Portal.Send(ctx, lic.Document.PortalURL, batch)
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "license portal unreachable; usage reports stay queued", "reports", len(batch), "err", err)
	}
	return err
}

func (s *Service) retryDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.cfg.Clock.Now().Before(s.lastAttempt.Add(s.cfg.RetryEvery))
}

// newReport describes usage now; it needs the runner count.
func (s *Service) newReport(ctx context.Context, lic License, at time.Time, mode string) (Report, error) {
	inst, err := s.Installation(ctx)
	if err != nil {
		return Report{}, err
	}
	n, err := s.countRunners(ctx)
	if err != nil {
		return Report{}, errs.Wrap(errs.Unavailable, "the number of registered runners is unknown (the runners service did not answer); try again shortly", err)
	}
	return Report{Mode: mode, UsageReport: licfile.UsageReport{ReportID: uuid.NewString(), LicenseID: lic.Document.LicenseID,
		InstallationID: inst.ID, RunnerCount: n, Version: s.cfg.Version, At: at}}, nil
}

func reportIDs(rs []licfile.UsageReport) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ReportID
	}
	return ids
}

func validated(lic License, n int) *audit.Event {
	return &audit.Event{Action: ActionValidate, Target: target(lic.Document.LicenseID), Outcome: audit.Success,
		Details: map[string]any{"mode": licfile.ModeOnline, "reports_sent": n}}
}

func validationFailed(lic License, pending int) *audit.Event {
	return &audit.Event{Action: ActionValidate, Target: target(lic.Document.LicenseID), Outcome: audit.Failure,
		Reason:  "the license portal did not accept the usage reports; they stay queued and are sent later",
		Details: map[string]any{"mode": licfile.ModeOnline, "pending_reports": pending}}
}
