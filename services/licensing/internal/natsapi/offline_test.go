package natsapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

func (h *harness) usageReport() contract.UsageReport {
	h.t.Helper()
	r, err := call[contract.UsageReport](h, admin, contract.SubjectUsageReport, contract.UsageReportRequest{})
	if err != nil {
		h.t.Fatalf("usage report: %v", err)
	}
	return r
}

func (h *harness) receipt(text string) (contract.Status, error) {
	return call[contract.Status](h, admin, contract.SubjectReceipt, contract.ReceiptRequest{Receipt: text})
}

func TestOfflineValidation(t *testing.T) {
	h := newHarness(t)
	h.runners.set(t, 3, true)
	offline := func(d *licfile.Document) {
		d.Validation, d.PortalURL = licfile.Validation{Mode: "offline", IntervalHours: 10 * 24, GraceDays: 5}, ""
	}
	act := h.mustActivate(anonymous, h.issue(offline))
	var file contract.UsageReport

	t.Run("a usage report is a file signed by the installation", func(t *testing.T) {
		h.clock.Advance(time.Hour)
		file = h.usageReport()
		r, _, err := licfile.OpenUsageReport(file.Content)
		if err != nil || r.RunnerCount != 3 || r.InstallationID != act.InstallationID || r.LicenseID != act.LicenseID ||
			!r.PeriodStart.Equal(start) || !r.PeriodEnd.Equal(start.Add(time.Hour)) || !strings.HasSuffix(file.FileName, ".txt") {
			t.Fatalf("report = %+v (%s), %v", r, file.FileName, err)
		}
		if evs := h.events("license.usage_report"); len(evs) != 1 {
			t.Fatalf("audit = %+v", evs)
		}
	})
	t.Run("the portal's receipt marks validation done", func(t *testing.T) {
		validatedAt := h.clock.Now().Add(time.Hour)
		h.clock.Advance(2 * time.Hour)
		text, err := h.sim.IssueReceipt(file.Content, validatedAt)
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.receipt(text)
		if err != nil || st.Validation.LastValidatedAt == nil || !st.Validation.LastValidatedAt.Equal(validatedAt) {
			t.Fatalf("status = %+v, %v", st.Validation, err)
		}
		evs := h.events("license.validate")
		if len(evs) != 1 || evs[0].Outcome != audit.Success || evs[0].Details["mode"] != "offline" {
			t.Fatalf("audit = %+v", evs)
		}
	})
	vendorReceipt := func(edit func(*licfile.Receipt)) string {
		r, _, _ := licfile.OpenUsageReport(file.Content)
		rc := licfile.Receipt{LicenseID: r.LicenseID, InstallationID: r.InstallationID, ReportID: r.ReportID, ValidatedAt: h.clock.Now()}
		edit(&rc)
		text, err := licfile.IssueReceipt(h.vendor, rc)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	stranger, _, _ := licfile.Keygen()
	strangers, _ := licfile.IssueReceipt(stranger, licfile.Receipt{LicenseID: act.LicenseID, InstallationID: act.InstallationID,
		ReportID: "x", ValidatedAt: start})
	good := vendorReceipt(func(*licfile.Receipt) {})
	bad := []struct{ name, text, message string }{
		{"a receipt signed by an untrusted key is refused", strangers, "does not trust"},
		{"an altered receipt is refused", strings.Replace(good, "\n", "\nAAAA", 1), "receipt"},
		{"a receipt cut short is refused", good[:len(good)/2], "truncated"},
		{"a receipt for a report this Hub never made is refused", vendorReceipt(func(r *licfile.Receipt) { r.ReportID = "made-up" }), "did not make"},
		{"a receipt for another installation is refused", vendorReceipt(func(r *licfile.Receipt) { r.InstallationID = "00000000-0000-4000-8000-000000000000" }), "installation"},
		{"a receipt for another license is refused", vendorReceipt(func(r *licfile.Receipt) { r.LicenseID = "L-other" }), "not the active license"},
		{"a receipt dated in the future is refused", vendorReceipt(func(r *licfile.Receipt) { r.ValidatedAt = h.clock.Now().Add(time.Hour) }), "future"},
		{"a license is not a receipt", h.issue(offline), "malformed"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.receipt(c.text)
			if !errs.Is(err, errs.InvalidLicense) || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("err = %v, want invalid_license naming %q", err, c.message)
			}
		})
	}
	t.Run("refused receipts are audited as failed validations", func(t *testing.T) {
		var failures int
		for _, ev := range h.events("license.validate") {
			if ev.Outcome == audit.Failure && ev.Details["mode"] == "offline" && ev.Reason != "" {
				failures++
			}
		}
		if failures != len(bad) {
			t.Fatalf("failures = %d, want %d", failures, len(bad))
		}
	})
}

func TestStatusTransitionsWithOfflineValidation(t *testing.T) {
	h := newHarness(t)
	text := h.issue(func(d *licfile.Document) {
		d.Validation, d.PortalURL = licfile.Validation{Mode: "offline", IntervalHours: 48, GraceDays: 3}, ""
		d.ExpiresAt = start.Add(60 * day)
	})
	h.mustActivate(anonymous, text)
	check := func(action string, runners int) error {
		_, err := call[contract.CheckResponse](h, operator, contract.SubjectCheck, contract.CheckRequest{Action: action, Runners: runners})
		return err
	}
	steps := []struct {
		name   string
		at     time.Time
		status string
		job    errs.Kind
		email  errs.Kind
	}{
		{"the day after activation it is active", start.Add(day), contract.StatusActive, "", ""},
		{"with validation overdue it is in grace and still works", start.Add(49 * time.Hour), contract.StatusGrace, "", ""},
		{"beyond the grace days it is expired: no jobs, no bootstrap", start.Add(5*day + time.Hour), contract.StatusExpired, errs.LicenseRequired, errs.LicenseRequired},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			h.clock.Set(s.at)
			st, err := h.status()
			if err != nil || st.Status != s.status {
				t.Fatalf("status = %s, %v; want %s", st.Status, err, s.status)
			}
			if err := check(contract.ActionJobCreate, 0); errs.KindOf(err) != s.job && !(s.job == "" && err == nil) {
				t.Fatalf("job.create = %v", err)
			}
			_, err = call[contract.AdminEmail](h, anonymous, contract.SubjectAdminEmail, contract.AdminEmailRequest{})
			if errs.KindOf(err) != s.email && !(s.email == "" && err == nil) {
				t.Fatalf("admin email = %v", err)
			}
		})
	}
	t.Run("activating the same license again does not reset its validation", func(t *testing.T) {
		st, err := h.activate(admin, text)
		if err != nil || st.Status != contract.StatusExpired {
			t.Fatalf("status = %+v, %v", st, err)
		}
	})
	t.Run("a receipt for a fresh report makes it active again", func(t *testing.T) {
		file := h.usageReport()
		text, err := h.sim.IssueReceipt(file.Content, h.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if st, err := h.receipt(text); err != nil || st.Status != contract.StatusActive {
			t.Fatalf("status = %+v, %v", st, err)
		}
		if err := check(contract.ActionJobCreate, 0); err != nil {
			t.Fatalf("job.create = %v", err)
		}
	})
}
