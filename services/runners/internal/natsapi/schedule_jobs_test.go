package natsapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/schedule"
	"github.com/google/uuid"
)

// TestScheduledJobs drives the schedules' port to the jobs: a fire's job is
// created by the schedule, audited with a system actor, carries the schedule
// and fire time, and is made once under its idempotency key; Check starts
// nothing; a run now is the caller's.
func TestScheduledJobs(t *testing.T) {
	h := newJobsHarness(t)
	h.servePackages(t)
	must[runners.Package](t)(h.recordDeclaring(t, "greet", "1.0.0", 1, declared))
	port := natsapi.ScheduleJobs(h.jobs)
	sched := uuid.NewString()
	at := time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)
	spec := schedule.JobSpec{Package: "greet", Environment: runners.EnvStaging, Parameters: params(`{"who":"cron"}`),
		ScheduleID: sched, ScheduledFor: at, IdempotencyKey: "schedule:" + sched + ":1"}

	bad := spec
	bad.Parameters = params(`{"retries":"x"}`)
	if err := port.Check(context.Background(), bad); errs.KindOf(err) != errs.InvalidArgument {
		t.Fatalf("Check of bad parameters = %v, want invalid_argument", err)
	}
	if err := port.Check(context.Background(), spec); err != nil {
		t.Fatalf("Check = %v", err)
	}
	id, err := port.StartScheduled(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := port.StartScheduled(context.Background(), spec)
	if err != nil || again != id {
		t.Fatalf("the repeated fire made %q, %v; want %q", again, err, id)
	}
	j := h.getJob(t, id)
	if j.ScheduleID == nil || *j.ScheduleID != sched || j.ScheduledFor == nil || !j.ScheduledFor.Equal(at) ||
		j.CreatedBy != "schedule:"+sched {
		t.Fatalf("job %+v", j)
	}
	page := must[runners.ListJobsResponse](t)(call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList,
		runners.ListJobsRequest{ScheduleID: sched}))
	if len(page.Items) != 1 || page.Items[0].ID != id {
		t.Fatalf("jobs of the schedule: %+v", page.Items)
	}
	_, err = call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList, runners.ListJobsRequest{ScheduleID: "x"})
	wantKind(t, err, errs.InvalidArgument)

	if _, err := port.StartManual(context.Background(), schedule.JobSpec{Package: "greet", Environment: runners.EnvStaging,
		Parameters: params(`{"who":"x"}`), ScheduleID: sched}); errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("a run now without a user = %v, want permission_denied", err)
	}
	manual, err := port.StartManual(as(operator), schedule.JobSpec{Package: "greet", Environment: runners.EnvStaging,
		Parameters: params(`{"who":"x"}`), ScheduleID: sched})
	if err != nil {
		t.Fatal(err)
	}
	if m := h.getJob(t, manual); m.CreatedBy != operator.ID || m.ScheduledFor != nil || m.ScheduleID == nil {
		t.Fatalf("run now job %+v", m)
	}

	var found bool
	for _, ev := range h.events(t) {
		if ev.Action == "job.create" && ev.Target.ID == id {
			found = true
			var d map[string]any
			json.Unmarshal([]byte(ev.Raw), &struct {
				Details *map[string]any `json:"details"`
			}{&d})
			if ev.Actor.Type != audit.ActorSystem || ev.Actor.ID != "schedule:"+sched || d["schedule_id"] != sched ||
				d["scheduled_for"] != "2026-03-08T07:00:00Z" {
				t.Fatalf("audit event %s", ev.Raw)
			}
		}
	}
	if !found {
		t.Fatal("the scheduled job was not audited")
	}
}
