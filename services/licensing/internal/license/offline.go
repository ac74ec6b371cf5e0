package license

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

// UsageReport makes a usage report signed with the installation key, for the
// administrator to carry to the portal. It returns a file name and the file.
func (s *Service) UsageReport(ctx context.Context) (string, string, error) {
	lic, err := s.cfg.Store.ActiveLicense(ctx)
	if err != nil {
		return "", "", err
	}
	at, err := s.observe(ctx)
	if err != nil {
		return "", "", err
	}
	r, err := s.newReport(ctx, lic, at, licfile.ModeOffline)
	if err != nil {
		return "", "", err
	}
	r.PeriodStart, r.PeriodEnd = lastValidation(lic), at
	inst, err := s.Installation(ctx)
	if err != nil {
		return "", "", err
	}
	text, err := licfile.SealUsageReport(inst.Key, r.UsageReport)
	if err != nil {
		return "", "", fmt.Errorf("usage report: %w", err)
	}
	ev := &audit.Event{Action: ActionUsageReport, Target: target(lic.Document.LicenseID), Outcome: audit.Success,
		Details: map[string]any{"mode": licfile.ModeOffline, "report_id": r.ReportID, "runner_count": r.RunnerCount}}
	if err := s.cfg.Store.Record(ctx, Outcome{NewReport: &r, At: at, Event: ev}); err != nil {
		return "", "", fmt.Errorf("usage report: %w", err)
	}
	name := fmt.Sprintf("exekra-usage-%s-%s.txt", unsafeChars.ReplaceAllString(lic.Document.LicenseID, "_"), at.Format("20060102T150405Z"))
	return name, text, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func lastValidation(lic License) time.Time {
	if lic.LastValidatedAt != nil && lic.LastValidatedAt.After(lic.ActivatedAt) {
		return *lic.LastValidatedAt
	}
	return lic.ActivatedAt
}

// ImportReceipt takes the portal's signed receipt for one of this Hub's usage
// reports and counts it as a validation at the receipt's validated_at.
func (s *Service) ImportReceipt(ctx context.Context, text string) (Snapshot, error) {
	lic, err := s.cfg.Store.ActiveLicense(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	at, err := s.observe(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	rc, err := s.checkReceipt(ctx, lic, text, at)
	if err != nil {
		s.auditFailure(ctx, ActionValidate, lic.Document.LicenseID, err, map[string]any{"mode": licfile.ModeOffline})
		return Snapshot{}, fmt.Errorf("import receipt: %w", err)
	}
	ev := &audit.Event{Action: ActionValidate, Target: target(lic.Document.LicenseID), Outcome: audit.Success,
		Details: map[string]any{"mode": licfile.ModeOffline, "report_id": rc.ReportID,
			"validated_at": rc.ValidatedAt.UTC().Format(time.RFC3339)}}
	o := Outcome{ReceiptFor: rc.ReportID, ValidatedAt: &rc.ValidatedAt, At: at, Event: ev}
	if err := s.cfg.Store.Record(ctx, o); err != nil {
		return Snapshot{}, fmt.Errorf("import receipt: %w", err)
	}
	return s.Status(ctx)
}

// checkReceipt verifies the vendor's signature, then that the receipt answers
// a report this installation made for the active license.
func (s *Service) checkReceipt(ctx context.Context, lic License, text string, at time.Time) (licfile.Receipt, error) {
	rc, err := licfile.VerifyReceipt(text, s.cfg.Trusted)
	if err != nil {
		return rc, err
	}
	inst, err := s.Installation(ctx)
	if err != nil {
		return rc, err
	}
	switch {
	case rc.LicenseID != lic.Document.LicenseID:
		return rc, errs.Ef(errs.InvalidLicense, "the receipt is for license %s, not the active license %s", rc.LicenseID, lic.Document.LicenseID)
	case rc.InstallationID != inst.ID:
		return rc, errs.Ef(errs.InvalidLicense, "the receipt is for installation %s, not this one (%s)", rc.InstallationID, inst.ID)
	case rc.ValidatedAt.After(at.Add(s.cfg.Tolerance)):
		return rc, errs.Ef(errs.InvalidLicense, "the receipt is dated %s, in the future", rc.ValidatedAt.UTC().Format(time.RFC3339))
	}
	rep, err := s.cfg.Store.FindReport(ctx, rc.ReportID)
	if errs.Is(err, errs.NotFound) || (err == nil && rep.LicenseID != lic.Document.LicenseID) {
		return rc, errs.Ef(errs.InvalidLicense, "the receipt answers usage report %s, which this Hub did not make for this license", rc.ReportID)
	}
	if err != nil {
		return rc, fmt.Errorf("find usage report: %w", err)
	}
	if rc.ValidatedAt.Before(rep.At.Add(-s.cfg.Tolerance)) {
		return rc, errs.Ef(errs.InvalidLicense, "the receipt is dated before the usage report it answers")
	}
	return rc, nil
}
