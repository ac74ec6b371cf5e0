package natsapi_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// TestDeleteWhileFiring deletes schedules while the fire loop records their
// fires: both take the schedule before its fires, so neither a delete nor a
// round of the loop dies in a deadlock.
func TestDeleteWhileFiring(t *testing.T) {
	h := newSchedulesHarness(t)
	const n = 60
	ids := make([]string, n)
	for i := range ids {
		sp := spec(fmt.Sprintf("busy-%02d", i), 1)
		sp.Concurrency = runners.ConcurrencyAllow
		ids[i] = h.createSchedule(t, sp).ID
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stepErrs []error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			h.clock.Advance(time.Second)
			if err := h.sched.Step(context.Background()); err != nil {
				stepErrs = append(stepErrs, err)
			}
		}
	})
	for _, id := range ids {
		if _, err := call[runners.ScheduleDeleted](as(developer), h.harness, runners.SubjectScheduleDelete, runners.ScheduleRequest{ID: id}); err != nil {
			t.Errorf("delete %s while firing: %v", id, err)
		}
	}
	close(stop)
	wg.Wait()
	for _, err := range stepErrs {
		t.Errorf("a round of the fire loop: %v", err)
	}
}
