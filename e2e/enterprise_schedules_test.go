package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// startSchedules creates every-second schedules (a six-field cron and a
// one-second interval, both allowing overlap) whose jobs wait in
// Production, where no runner is, so they leave the load's ledger alone.
func startSchedules(t *testing.T, s *session) schedulesRun {
	t.Helper()
	dev := s.h.as(s.devTok)
	var ids []string
	for i, when := range []map[string]any{{"cron": "* * * * * *"}, {"interval_seconds": 1}, {"cron": "* * * * * *", "time_zone": "Europe/Berlin"}} {
		body := map[string]any{"name": "every-second-" + string(rune('a'+i)), "package": "ledger", "environment": "Production",
			"parameters": s.params, "concurrency": "allow"}
		for k, v := range when {
			body[k] = v
		}
		ids = append(ids, dev.must(http.StatusCreated, "POST", "/api/v1/schedules", body)["id"].(string))
	}
	return schedulesRun{ids: ids, began: time.Now()}
}

// schedulesRun is the schedules startSchedules made, and when.
type schedulesRun struct {
	ids   []string
	began time.Time
}

// firingFor is how long the schedules fire at least, faults and all.
const firingFor = 65 * time.Second

// checkSchedulesFiredOnce lets the schedules fire a minute at least, pauses
// them and checks every second from
// each one's first fire to its last: exactly one fire row, each either a job
// (its own, among the schedule's jobs) or a recorded skip, and as many jobs
// as fires that made one.
func checkSchedulesFiredOnce(t *testing.T, s *session, run schedulesRun) {
	op := s.h.as(s.opTok)
	ids := run.ids
	time.Sleep(time.Until(run.began.Add(firingFor)))
	for _, id := range ids {
		op.must(http.StatusOK, "POST", "/api/v1/schedules/"+id+"/pause", nil)
	}
	// A fire an instance left half made (killed between its row and its
	// job) is finished by another once its lease runs out.
	waitFor(t, 90*time.Second, "no fire left pending", func() bool {
		for _, id := range ids {
			if count(fires(t, op, id), "pending") > 0 {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		fs := fires(t, op, id)
		slices.SortFunc(fs, func(a, b fire) int { return a.at.Compare(b.at) })
		if len(fs) < int(firingFor/time.Second)-5 {
			t.Fatalf("schedule %s fired %d times under the faults", id, len(fs))
		}
		jobs := scheduleJobs(t, op, id)
		madeJob := map[string]bool{}
		outcomes := map[string]int{}
		for i, f := range fs {
			outcomes[f.outcome]++
			if i > 0 && f.at.Sub(fs[i-1].at) != time.Second {
				t.Errorf("schedule %s: fire %s follows %s (a second missing or twice)", id, f.at, fs[i-1].at)
			}
			switch f.outcome {
			case "job_created":
				if _, ok := jobs[f.jobID]; !ok || madeJob[f.jobID] {
					t.Errorf("schedule %s: fire %s names job %q (among its jobs: %v, named before: %v)", id, f.at, f.jobID, ok, madeJob[f.jobID])
				}
				madeJob[f.jobID] = true
			case "missed", "skipped_concurrency":
			default:
				t.Errorf("schedule %s: fire %s %s: %s", id, f.at, f.outcome, f.reason)
			}
		}
		if len(jobs) != outcomes["job_created"] {
			t.Errorf("schedule %s: %d jobs for %d fires that made one", id, len(jobs), outcomes["job_created"])
		}
		t.Logf("schedule %s: %d fire times from %s to %s, each once: %v", id, len(fs), fs[0].at.Format(time.TimeOnly),
			fs[len(fs)-1].at.Format(time.TimeOnly), outcomes)
	}
}
