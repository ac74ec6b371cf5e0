package schedule

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// TestPlanLongDowntime: an every-second schedule two hours behind records
// at most MaxMissedRecorded fires, counts the rest in the last one's
// reason, fires the latest late time once (fire_once) and moves on to the
// first time after now.
func TestPlanLongDowntime(t *testing.T) {
	s := &Service{Deps: Deps{Log: slog.New(slog.DiscardHandler), MisfireGrace: time.Minute, Meter: noMeter{}}}
	created := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	next := created.Add(time.Second)
	sc := runners.Schedule{ID: "s", Name: "s", IntervalSeconds: 1, TimeZone: "UTC", Concurrency: runners.ConcurrencySkip,
		Misfire: runners.MisfireFireOnce, State: runners.ScheduleActive, NextFireAt: &next, CreatedAt: created}
	now := created.Add(2 * time.Hour)
	for _, policy := range runners.MisfirePolicies {
		sc.Misfire = policy
		p := s.plan(t.Context(), Due{Schedule: sc}, now)
		var missed, pending int
		for _, f := range p.Fires {
			switch f.Outcome {
			case runners.FireMissed:
				missed++
			case runners.FirePending:
				pending++
				if want := now.Add(-time.Minute - time.Second); !f.FireTime.Equal(want) {
					t.Fatalf("%s: fired %s, want %s", policy, f.FireTime, want)
				}
			default:
				t.Fatalf("%s: fire %+v", policy, f)
			}
		}
		wantPending := 0
		if policy == runners.MisfireFireOnce {
			wantPending = 1
		}
		if missed != runners.MaxMissedRecorded || pending != wantPending {
			t.Fatalf("%s: %d missed, %d pending", policy, missed, pending)
		}
		total := int(now.Sub(next)/time.Second) + 1
		last := p.Fires[len(p.Fires)-1]
		if wantPending == 1 {
			last = p.Fires[len(p.Fires)-2]
		}
		if want := total - runners.MaxMissedRecorded - wantPending; !strings.Contains(last.Reason, fmt.Sprintf("; %d later fire times", want)) {
			t.Fatalf("%s: the last reason %q does not count %d more", policy, last.Reason, want)
		}
		if p.State != runners.ScheduleActive || p.NextFireAt == nil || !p.NextFireAt.Equal(now.Add(time.Second)) {
			t.Fatalf("%s: next %v, state %s", policy, p.NextFireAt, p.State)
		}
	}
}
