package license

import (
	"strings"
	"testing"
	"time"

	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// lic is activated at t0, expires 100 days later, validates every 48 hours with 3 days of grace.
func lic() License {
	return License{ActivatedAt: t0, Document: licfile.Document{LicenseID: "L1", MaxRunners: 3,
		NotBefore: t0.Add(-time.Hour), ExpiresAt: t0.Add(100 * day),
		Validation: licfile.Validation{Mode: licfile.ModeOnline, IntervalHours: 48, GraceDays: 3}}}
}

func validatedAt(t time.Time) License {
	l := lic()
	l.LastValidatedAt = &t
	return l
}

func TestEvaluate(t *testing.T) {
	cases := []struct {
		name        string
		lic         License
		at          time.Time
		status      string
		daysLeft    int
		warningDays int
		warning     string
	}{
		{"a fresh license is active without a warning", lic(), t0.Add(time.Hour), contract.StatusActive, 100, 0, ""},
		{"validation due in a minute is still active", lic(), t0.Add(48*time.Hour - time.Minute), contract.StatusActive, 99, 0, ""},
		{"overdue validation puts it in grace", lic(), t0.Add(48 * time.Hour), contract.StatusGrace, 98, 0, "validation is overdue since 2026-01-03T00:00:00Z; 3 days of grace remain"},
		{"overdue beyond the grace days it is expired", lic(), t0.Add(5 * day), contract.StatusExpired, 95, 0, "refused until it is validated"},
		{"a validation moves the due date", validatedAt(t0.Add(4 * day)), t0.Add(5 * day), contract.StatusActive, 95, 0, ""},
		{"31 days before expiry there is no warning", validatedAt(t0.Add(69 * day)), t0.Add(69 * day), contract.StatusActive, 31, 0, ""},
		{"30 days before expiry it warns", validatedAt(t0.Add(70 * day)), t0.Add(70 * day), contract.StatusActive, 30, 30, "license expires in 30 days"},
		{"14 days before expiry the warning sharpens", validatedAt(t0.Add(86 * day)), t0.Add(86 * day), contract.StatusActive, 14, 14, "license expires in 14 days"},
		{"a part day counts as a whole day", validatedAt(t0.Add(93 * day)), t0.Add(93*day + time.Hour), contract.StatusActive, 7, 7, "license expires in 7 days"},
		{"the last day warns at 1", validatedAt(t0.Add(99 * day)), t0.Add(99*day + 23*time.Hour), contract.StatusActive, 1, 1, "license expires in 1 day"},
		{"just past expiry it is in grace", validatedAt(t0.Add(99 * day)), t0.Add(100 * day), contract.StatusGrace, 0, 0, "expired on 2026-04-11T00:00:00Z; 3 days of grace remain"},
		{"past expiry and grace it is expired", validatedAt(t0.Add(99 * day)), t0.Add(103 * day), contract.StatusExpired, 0, 0, "refused until it is renewed"},
		{"past expiry renewal is asked for even when validation lapsed first", lic(), t0.Add(101 * day), contract.StatusExpired, 0, 0, "the license expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Evaluate(c.lic, c.at)
			if e.Status != c.status || e.DaysLeft != c.daysLeft || e.WarningDays != c.warningDays {
				t.Fatalf("Evaluate = %+v, want status %s, %d days left, warning at %d", e, c.status, c.daysLeft, c.warningDays)
			}
			if (c.warning == "") != (e.Warning == "") || !strings.Contains(e.Warning, c.warning) {
				t.Fatalf("warning = %q, want one containing %q", e.Warning, c.warning)
			}
		})
	}
	t.Run("grace ends at the earlier lapse plus the grace days", func(t *testing.T) {
		e := Evaluate(lic(), t0)
		if want := t0.Add(48*time.Hour + 3*day); !e.GraceEndsAt.Equal(want) || !e.NextDueAt.Equal(t0.Add(48*time.Hour)) {
			t.Fatalf("grace ends %s, next due %s", e.GraceEndsAt, e.NextDueAt)
		}
	})
}

func TestAllows(t *testing.T) {
	l := lic()
	active, grace, expired := Evaluate(l, t0), Evaluate(l, t0.Add(3*day)), Evaluate(l, t0.Add(6*day))
	cases := []struct {
		name    string
		e       Evaluation
		action  string
		runners int
		want    errs.Kind
	}{
		{"registering up to the limit is allowed", active, contract.ActionRunnerRegister, 3, ""},
		{"registering beyond the limit is refused", active, contract.ActionRunnerRegister, 4, errs.LicenseLimit},
		{"creating a job is allowed while active", active, contract.ActionJobCreate, 0, ""},
		{"grace allows registering and jobs", grace, contract.ActionRunnerRegister, 1, ""},
		{"the limit holds in grace too", grace, contract.ActionRunnerRegister, 4, errs.LicenseLimit},
		{"an expired license refuses runners", expired, contract.ActionRunnerRegister, 1, errs.LicenseRequired},
		{"an expired license refuses jobs", expired, contract.ActionJobCreate, 0, errs.LicenseRequired},
		{"an unknown action is a bad request", active, "package.publish", 0, errs.InvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.e.Allows(l, c.action, c.runners)
			if (c.want == "") != (err == nil) || (err != nil && errs.KindOf(err) != c.want) {
				t.Fatalf("Allows = %v, want %q", err, c.want)
			}
		})
	}
}
