package license

import (
	"testing"
	"time"
)

func TestObserve(t *testing.T) {
	tol := 5 * time.Minute
	c := ClockState{HighestSeen: t0}
	steps := []struct {
		name     string
		now      time.Time
		audit    bool
		highest  time.Time
		rollback bool
	}{
		{"a clock moving forward raises the highest time seen", t0.Add(time.Hour), false, t0.Add(time.Hour), false},
		{"a step back within the tolerance is no rollback", t0.Add(56 * time.Minute), false, t0.Add(time.Hour), false},
		{"a step back beyond the tolerance is audited", t0, true, t0.Add(time.Hour), true},
		{"the same rollback is audited only once", t0.Add(time.Minute), false, t0.Add(time.Hour), true},
		{"a clock back within the tolerance ends the rollback", t0.Add(58 * time.Minute), false, t0.Add(time.Hour), false},
		{"a later rollback is a new detection", t0.Add(10 * time.Minute), true, t0.Add(time.Hour), true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var ev any
			next, e := Observe(c, s.now, tol)
			if e != nil {
				ev = e
				if e.Action != ActionClockRollback || e.Details["behind_seconds"] == nil {
					t.Fatalf("event = %+v", e)
				}
			}
			if (ev != nil) != s.audit || !next.HighestSeen.Equal(s.highest) || (next.RollbackSince != nil) != s.rollback {
				t.Fatalf("Observe = %+v, event %v", next, ev)
			}
			c = next
		})
	}
	t.Run("expiry is decided by the highest time seen while the clock is behind", func(t *testing.T) {
		if got := Effective(t0, ClockState{HighestSeen: t0.Add(time.Hour)}); !got.Equal(t0.Add(time.Hour)) {
			t.Fatalf("Effective = %s", got)
		}
		if got := Effective(t0.Add(2*time.Hour), ClockState{HighestSeen: t0.Add(time.Hour)}); !got.Equal(t0.Add(2 * time.Hour)) {
			t.Fatalf("Effective = %s", got)
		}
	})
}
