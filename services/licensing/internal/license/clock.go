package license

import (
	"time"

	"github.com/exekra/hub/libs/contract/audit"
)

// DefaultTolerance is how far the clock may step back before it counts as a rollback.
const DefaultTolerance = 5 * time.Minute

// Effective is the time the service decides expiry by: now, but never before
// the highest time it has seen, so turning the clock back gains nothing.
func Effective(now time.Time, c ClockState) time.Time {
	if now.Before(c.HighestSeen) {
		return c.HighestSeen
	}
	return now
}

// Observe folds now into c. A clock more than tolerance behind the highest
// time seen is a rollback: the first observation of it returns the audit
// event to write, later ones return none until the clock has caught up.
func Observe(c ClockState, now time.Time, tolerance time.Duration) (ClockState, *audit.Event) {
	now = now.UTC().Truncate(time.Microsecond)
	if now.Before(c.HighestSeen.Add(-tolerance)) {
		if c.RollbackSince != nil {
			return c, nil
		}
		c.RollbackSince = &now
		return c, &audit.Event{
			At:      c.HighestSeen, // the event's time is the trusted one; "now" is in details
			Actor:   audit.Actor{Type: audit.ActorSystem, ID: "licensing"},
			Action:  ActionClockRollback,
			Target:  audit.Target{Type: "clock", ID: "system"},
			Outcome: audit.Failure,
			Reason:  "the system clock is behind the highest time the licensing service has seen; expiry is decided by that time",
			Details: map[string]any{
				"clock_now":      now.Format(time.RFC3339Nano),
				"highest_seen":   c.HighestSeen.UTC().Format(time.RFC3339Nano),
				"behind_seconds": int64(c.HighestSeen.Sub(now) / time.Second),
			},
		}
	}
	if now.After(c.HighestSeen) {
		c.HighestSeen = now
	}
	if c.RollbackSince != nil && !now.Before(c.HighestSeen.Add(-tolerance)) {
		c.RollbackSince = nil
	}
	return c, nil
}
