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

func TestWithoutALicense(t *testing.T) {
	h := newHarness(t)
	calls := map[string]func() error{
		"status requires a license": func() error { _, err := h.status(); return err },
		"checks require a license": func() error {
			_, err := call[contract.CheckResponse](h, admin, contract.SubjectCheck, contract.CheckRequest{Action: contract.ActionJobCreate})
			return err
		},
		"the admin email requires a license": func() error {
			_, err := call[contract.AdminEmail](h, anonymous, contract.SubjectAdminEmail, contract.AdminEmailRequest{})
			return err
		},
		"a usage report requires a license": func() error {
			_, err := call[contract.UsageReport](h, admin, contract.SubjectUsageReport, contract.UsageReportRequest{})
			return err
		},
		"a receipt requires a license": func() error { _, err := h.receipt("x"); return err },
	}
	for name, fn := range calls {
		t.Run(name, func(t *testing.T) {
			if err := fn(); !errs.Is(err, errs.LicenseRequired) {
				t.Fatalf("err = %v, want license_required", err)
			}
		})
	}
	t.Run("the setup state says unlicensed", func(t *testing.T) {
		st, err := call[contract.SetupState](h, anonymous, contract.SubjectSetupState, contract.SetupStateRequest{})
		if err != nil || st.Licensed {
			t.Fatalf("setup = %+v, %v", st, err)
		}
	})
}

func TestStatusAndChecks(t *testing.T) {
	h := newHarness(t)
	h.runners.set(t, 2, true)
	h.mustActivate(anonymous, h.issue(func(d *licfile.Document) { d.MaxRunners, d.ExpiresAt = 3, start.Add(7*day-time.Hour) }))
	t.Run("status shows usage and the expiry warning", func(t *testing.T) {
		st, err := h.status()
		if err != nil || st.Usage.Runners != 2 || st.Usage.Note != "" || st.DaysLeft != 7 || st.WarningDays != 7 ||
			st.Warning != "license expires in 7 days" || st.AdminEmail != "Admin@Acme.test" || st.Validation.NextDueAt == nil {
			t.Fatalf("status = %+v, %v", st, err)
		}
	})
	t.Run("status without the runners service counts 0 with a note", func(t *testing.T) {
		h.runners.set(t, 0, false)
		defer h.runners.set(t, 2, true)
		st, err := h.status()
		if err != nil || st.Usage.Runners != 0 || st.Usage.Note == "" {
			t.Fatalf("status = %+v, %v", st.Usage, err)
		}
	})
	cases := []struct {
		name    string
		req     contract.CheckRequest
		want    errs.Kind
		message string
	}{
		{"registering the third of three runners is allowed", contract.CheckRequest{Action: contract.ActionRunnerRegister, Runners: 3}, "", ""},
		{"registering a fourth of three runners is refused", contract.CheckRequest{Action: contract.ActionRunnerRegister, Runners: 4}, errs.LicenseLimit, "allows 3 runners"},
		{"creating a job is allowed", contract.CheckRequest{Action: contract.ActionJobCreate}, "", ""},
		{"an unknown action is refused", contract.CheckRequest{Action: "jobs.delete"}, errs.InvalidArgument, "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := call[contract.CheckResponse](h, operator, contract.SubjectCheck, c.req)
			if c.want == "" {
				if err != nil || resp.Status != contract.StatusActive {
					t.Fatalf("check = %+v, %v", resp, err)
				}
				return
			}
			if !errs.Is(err, c.want) || !contains(err.Error(), c.message) {
				t.Fatalf("check = %v, want %s naming %q", err, c.want, c.message)
			}
		})
	}
	t.Run("the admin email is the license's", func(t *testing.T) {
		got, err := call[contract.AdminEmail](h, anonymous, contract.SubjectAdminEmail, contract.AdminEmailRequest{})
		if err != nil || got.Email != "Admin@Acme.test" {
			t.Fatalf("admin email = %+v, %v", got, err)
		}
	})
}

func TestClockRollback(t *testing.T) {
	h := newHarness(t)
	h.mustActivate(anonymous, h.issue(func(d *licfile.Document) {
		d.ExpiresAt, d.Validation.GraceDays = start.Add(10*day), 0
	}))
	h.clock.Set(start.Add(10*day + time.Hour))
	h.tick()
	jobCheck := func() error {
		_, err := call[contract.CheckResponse](h, operator, contract.SubjectCheck, contract.CheckRequest{Action: contract.ActionJobCreate})
		return err
	}
	t.Run("turning the clock back is audited once and gains nothing", func(t *testing.T) {
		h.clock.Set(start.Add(day))
		h.tick()
		h.tick()
		if evs := h.events("license.clock_rollback"); len(evs) != 1 || evs[0].Actor.Type != audit.ActorSystem {
			t.Fatalf("audit = %+v", evs)
		}
		if err := jobCheck(); !errs.Is(err, errs.LicenseRequired) {
			t.Fatalf("job.create = %v, want license_required by the highest time seen", err)
		}
		if st, _ := h.status(); !st.ClockRollback || st.Status != contract.StatusExpired {
			t.Fatalf("status = %+v", st)
		}
	})
	t.Run("a rollback after the clock caught up is a new detection", func(t *testing.T) {
		h.clock.Set(start.Add(10*day + 2*time.Hour))
		h.tick()
		if st, _ := h.status(); st.ClockRollback {
			t.Fatal("rollback still flagged after the clock caught up")
		}
		h.clock.Set(start.Add(2 * day))
		if err := h.svc.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		if evs := h.events("license.clock_rollback"); len(evs) != 2 {
			t.Fatalf("rollback events = %d, want 2", len(evs))
		}
	})
	t.Run("an activation also records the clock", func(t *testing.T) {
		h.clock.Set(start.Add(30 * day))
		h.mustActivate(admin, h.issue(func(d *licfile.Document) { d.ExpiresAt = start.Add(400 * day) }))
		h.clock.Set(start.Add(29 * day))
		h.tick()
		if evs := h.events("license.clock_rollback"); len(evs) != 3 {
			t.Fatalf("rollback events = %d, want 3", len(evs))
		}
	})
}
