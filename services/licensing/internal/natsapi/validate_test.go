package natsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

func (h *harness) validate() contract.Status {
	h.t.Helper()
	st, err := call[contract.Status](h, admin, contract.SubjectValidate, contract.ValidateRequest{})
	if err != nil {
		h.t.Fatalf("validate: %v", err)
	}
	return st
}

func TestOnlineValidation(t *testing.T) {
	h := newHarness(t)
	h.runners.set(t, 2, true)
	h.mustActivate(anonymous, h.issue(func(d *licfile.Document) { d.Validation.IntervalHours = 24 }))

	t.Run("validating sends a usage report and records the validation", func(t *testing.T) {
		st := h.validate()
		if st.Validation.LastValidatedAt == nil || !st.Validation.LastValidatedAt.Equal(start) || st.Validation.PendingReports != 0 {
			t.Fatalf("validation = %+v", st.Validation)
		}
		got := h.sim.Reports()
		if len(got) != 1 || got[0].RunnerCount != 2 || got[0].InstallationID != st.InstallationID ||
			got[0].LicenseID != st.LicenseID || got[0].Version != "1.2.3-test" || !got[0].At.Equal(start) {
			t.Fatalf("portal got %+v", got)
		}
		if evs := h.events("license.validate"); len(evs) != 1 || evs[0].Outcome != audit.Success {
			t.Fatalf("audit = %+v", evs)
		}
	})
	t.Run("with the portal down reports queue up and the status says so", func(t *testing.T) {
		h.sim.SetDown(true)
		h.clock.Advance(time.Hour)
		h.validate()
		h.clock.Advance(time.Hour)
		st := h.validate()
		if st.Validation.PendingReports != 2 || !st.Validation.LastValidatedAt.Equal(start) || st.Status != contract.StatusActive {
			t.Fatalf("status = %+v", st)
		}
		evs := h.events("license.validate")
		if len(evs) != 3 || evs[2].Outcome != audit.Failure || evs[2].Reason == "" {
			t.Fatalf("audit = %+v", evs)
		}
	})
	t.Run("the loop makes a report when one is due, and no more until the next is", func(t *testing.T) {
		h.clock.Set(start.Add(26 * time.Hour)) // a day after the last report (start+2h)
		h.tick()
		refused := h.sim.Refused()
		h.tick()
		st, _ := h.status()
		if st.Validation.PendingReports != 3 || h.sim.Refused() != refused {
			t.Fatalf("pending = %d, refused %d -> %d", st.Validation.PendingReports, refused, h.sim.Refused())
		}
	})
	t.Run("once the portal is back the queue goes in one batch, each report exactly once", func(t *testing.T) {
		h.sim.SetDown(false)
		h.clock.Advance(2 * time.Minute)
		h.tick()
		if b := h.sim.Batches(); len(b) != 2 || b[1] != 3 {
			t.Fatalf("batches = %v, want [1 3]", b)
		}
		h.tick()
		h.clock.Advance(time.Minute)
		st := h.validate()
		if b := h.sim.Batches(); len(b) != 3 || b[2] != 1 {
			t.Fatalf("batches = %v, want [1 3 1]", b)
		}
		for _, r := range h.sim.Reports() {
			if n := h.sim.Deliveries(r.ReportID); n != 1 {
				t.Fatalf("report %s delivered %d times", r.ReportID, n)
			}
		}
		if len(h.sim.Reports()) != 5 || st.Validation.PendingReports != 0 || !st.Validation.LastValidatedAt.Equal(h.clock.Now()) {
			t.Fatalf("reports %d, status %+v", len(h.sim.Reports()), st.Validation)
		}
	})
	t.Run("validation overdue past grace while the portal is down expires the license", func(t *testing.T) {
		h.sim.SetDown(true)
		h.clock.Advance(24*time.Hour + time.Minute)
		h.tick()
		if st, _ := h.status(); st.Status != contract.StatusGrace || st.Warning == "" {
			t.Fatalf("status = %s %q", st.Status, st.Warning)
		}
		h.clock.Advance(7 * day)
		h.tick()
		st, _ := h.status()
		if st.Status != contract.StatusExpired || st.Validation.PendingReports < 2 {
			t.Fatalf("status = %+v", st)
		}
	})
}

func TestOnlineValidationNeedsAnOnlineLicenseAndTheRunnerCount(t *testing.T) {
	h := newHarness(t)
	t.Run("without a license there is nothing to validate", func(t *testing.T) {
		if _, err := call[contract.Status](h, admin, contract.SubjectValidate, contract.ValidateRequest{}); !errs.Is(err, errs.LicenseRequired) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an offline license is not validated online", func(t *testing.T) {
		h.mustActivate(anonymous, h.issue(func(d *licfile.Document) { d.Validation.Mode, d.PortalURL = "offline", "" }))
		if _, err := call[contract.Status](h, admin, contract.SubjectValidate, contract.ValidateRequest{}); !errs.Is(err, errs.InvalidArgument) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("without the runner count no report is made", func(t *testing.T) {
		h.clock.Advance(time.Second)
		h.mustActivate(admin, h.issue(nil))
		h.runners.set(t, 0, false)
		if _, err := call[contract.Status](h, admin, contract.SubjectValidate, contract.ValidateRequest{}); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("err = %v", err)
		}
		if len(h.sim.Batches()) != 0 {
			t.Fatalf("portal got %v", h.sim.Batches())
		}
	})
}

func TestTheLoopValidatesSoonAfterActivationAndStopsWithItsContext(t *testing.T) {
	h := newHarness(t)
	h.mustActivate(anonymous, h.issue(nil))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); h.svc.Run(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.sim.Reports()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the loop sent no first report")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if n := len(h.sim.Reports()); n != 1 {
		t.Fatalf("reports = %d, want 1 (the next is due in 30 days)", n)
	}
}
