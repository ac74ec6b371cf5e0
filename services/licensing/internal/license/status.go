package license

import (
	"fmt"
	"time"

	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
)

const day = 24 * time.Hour

// warningDays are the thresholds at which an expiry warning appears or sharpens.
var warningDays = []int{1, 7, 14, 30}

// Evaluation is what a license allows at one moment.
//
// The rules, with E = expires_at, V = the last successful validation (the
// activation until the first one), I = validation.interval_hours and
// G = validation.grace_days:
//   - validation is due at D = V + I;
//   - the Hub is expired from min(E, D) + G on: past expiry or overdue, and
//     out of grace (new runners and jobs are refused);
//   - before that it is in grace from min(E, D) on (everything works, with a warning);
//   - before that it is active;
//   - days_remaining counts whole days to E, rounded up (0 once past);
//     while active, a warning appears from 30 days before E, sharpening at 14, 7 and 1.
type Evaluation struct {
	Status      string // contract.StatusActive | StatusGrace | StatusExpired
	DaysLeft    int
	Warning     string
	WarningDays int
	NextDueAt   time.Time
	GraceEndsAt time.Time
}

// Evaluate applies the rules to l at time at (the service's effective time).
func Evaluate(l License, at time.Time) Evaluation {
	doc := l.Document
	base := l.ActivatedAt
	if l.LastValidatedAt != nil && l.LastValidatedAt.After(base) {
		base = *l.LastValidatedAt
	}
	e := Evaluation{NextDueAt: base.Add(time.Duration(doc.Validation.IntervalHours) * time.Hour)}
	lapse := doc.ExpiresAt
	overdue := e.NextDueAt.Before(lapse)
	if overdue {
		lapse = e.NextDueAt
	}
	e.GraceEndsAt = lapse.Add(time.Duration(doc.Validation.GraceDays) * day)
	e.DaysLeft = ceilDays(doc.ExpiresAt.Sub(at))
	// Past expiry, renewal is what helps, whichever lapsed first.
	why, fix := "license validation is overdue since "+e.NextDueAt.UTC().Format(time.RFC3339), "validated"
	if !overdue || !at.Before(doc.ExpiresAt) {
		why, fix = "the license expired on "+doc.ExpiresAt.UTC().Format(time.RFC3339), "renewed"
	}
	switch {
	case !at.Before(e.GraceEndsAt):
		e.Status = contract.StatusExpired
		e.Warning = why + "; new runners and jobs are refused until it is " + fix
	case !at.Before(lapse):
		e.Status = contract.StatusGrace
		e.Warning = fmt.Sprintf("%s; %s of grace remain", why, days(ceilDays(e.GraceEndsAt.Sub(at))))
	default:
		e.Status = contract.StatusActive
		for _, w := range warningDays {
			if e.DaysLeft <= w {
				e.WarningDays = w
				e.Warning = "license expires in " + days(e.DaysLeft)
				break
			}
		}
	}
	return e
}

func ceilDays(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + day - 1) / day)
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Allows decides whether action may happen under l evaluated as e; runners is
// the count after the action (runner.register).
func (e Evaluation) Allows(l License, action string, runners int) error {
	switch action {
	case contract.ActionRunnerRegister, contract.ActionJobCreate:
	default:
		return errs.Ef(errs.InvalidArgument, "unknown license check action %q", action)
	}
	if e.Status == contract.StatusExpired {
		return errs.E(errs.LicenseRequired, e.Warning)
	}
	if action == contract.ActionRunnerRegister && runners > l.Document.MaxRunners {
		return errs.Ef(errs.LicenseLimit, "the license allows %d runners; delete a runner or extend the license", l.Document.MaxRunners)
	}
	return nil
}
