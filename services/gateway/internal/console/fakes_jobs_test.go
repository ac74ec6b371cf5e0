package console_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
)

// A test double of the runners service's packages and jobs: canned answers
// on its real subjects.

var publishedAt = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

type fakeJobs struct {
	packages   []runners.Package // every version, newest first per name
	items      []runners.Job
	logs       map[string][]runners.LogLine
	lastList   runners.ListJobsRequest
	lastCreate *runners.CreateJobRequest
	lastRerun  *runners.RerunJobRequest
	lastLogs   runners.JobLogsRequest
	created    int
	canceled   []string
}

func newFakeJobs() fakeJobs {
	started, ended, code, runner, lost := publishedAt.Add(time.Hour), publishedAt.Add(2*time.Hour), 2, "r-1", "exit status 2"
	return fakeJobs{
		packages: []runners.Package{
			{Name: "hello", Version: "1.2.0", SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				SizeBytes: 1536, PublishedBy: "dev@example.com", PublishedAt: publishedAt},
			{Name: "hello", Version: "1.0.0", SHA256: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
				SizeBytes: 512, PublishedBy: "admin@example.com", PublishedAt: publishedAt.Add(-time.Hour)},
			{Name: "params", Version: "2.0.0", SHA256: "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999",
				SizeBytes: 100, PublishedBy: "dev@example.com", PublishedAt: publishedAt, Parameters: []runners.Parameter{
					{Name: "who", Type: runners.ParamString, Required: true, Description: "whom to greet"},
					{Name: "count", Type: runners.ParamInteger, Default: json.RawMessage(`3`)},
					{Name: "ratio", Type: runners.ParamNumber},
					{Name: "loud", Type: runners.ParamBoolean, Default: json.RawMessage(`false`)},
					{Name: "mode", Type: runners.ParamString, Enum: []json.RawMessage{json.RawMessage(`"fast"`), json.RawMessage(`"slow"`)}},
				}},
			{Name: "report", Version: "0.1.0", SHA256: "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999",
				SizeBytes: 20 << 20, PublishedBy: "dev@example.com", PublishedAt: publishedAt},
		},
		items: []runners.Job{
			{ID: "j-pend", Package: "hello", Version: "1.2.0", Environment: runners.EnvProduction, Status: runners.JobPending,
				PendingReason: runners.PendingNoneOnline, MaxAttempts: 1, CreatedBy: "op@example.com", CreatedAt: publishedAt,
				Parameters: json.RawMessage(`{"who":"world"}`)},
			{ID: "j-done", Package: "report", Version: "0.1.0", Environment: runners.EnvStaging, Status: runners.JobFailed,
				RunnerID: &runner, Attempts: 1, MaxAttempts: 1, CreatedBy: "dev@example.com", CreatedAt: publishedAt,
				StartedAt: &started, FinishedAt: &ended, ExitCode: &code, Error: &lost,
				AttemptHistory: &[]runners.JobAttempt{{Number: 1, RunnerID: runner, RunnerName: "build-01", StartedAt: started, RunningAt: &started,
					EndedAt: &ended, Outcome: runners.AttemptFailed, Reason: "exit status 2"}}},
		},
		logs: map[string][]runners.LogLine{
			"j-done": {
				{Seq: 1, TS: started, Stream: "stdout", Message: "starting <report>"},
				{Seq: 2, TS: started.Add(time.Second), Stream: "stderr", Message: "boom"},
			},
		},
	}
}

func (f *fakeHub) findJob(id string) int {
	return slices.IndexFunc(f.jobs.items, func(j runners.Job) bool { return j.ID == id })
}

func (f *fakeHub) jobsEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectPackageList, func(_ context.Context, r runners.ListPackagesRequest) (runners.ListPackagesResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out runners.ListPackagesResponse
			for _, p := range f.jobs.packages {
				if !slices.ContainsFunc(out.Items, func(q runners.Package) bool { return q.Name == p.Name }) {
					out.Items = append(out.Items, p)
				}
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectPackageVersions, func(_ context.Context, r runners.PackageVersionsRequest) (runners.PackageVersions, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out runners.PackageVersions
			for _, p := range f.jobs.packages {
				if p.Name == r.Name {
					out.Items = append(out.Items, p)
				}
			}
			if len(out.Items) == 0 {
				return out, errs.E(errs.NotFound, "no such package")
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectJobList, func(_ context.Context, r runners.ListJobsRequest) (runners.ListJobsResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.jobs.lastList = r
			if r.Status != "" && !slices.Contains(runners.JobStatuses, r.Status) {
				return runners.ListJobsResponse{}, errs.Ef(errs.InvalidArgument, "status must be one of %s", strings.Join(runners.JobStatuses, ", "))
			}
			var out runners.ListJobsResponse
			for _, j := range f.jobs.items {
				if (r.Status == "" || j.Status == r.Status) && (r.Environment == "" || j.Environment == r.Environment) &&
					(r.RunnerID == "" || (j.RunnerID != nil && *j.RunnerID == r.RunnerID)) &&
					(r.Package == "" || j.Package == r.Package) && (r.ScheduleID == "" || (j.ScheduleID != nil && *j.ScheduleID == r.ScheduleID)) &&
					(r.Since.IsZero() || !j.CreatedAt.Before(r.Since)) && (r.Until.IsZero() || !j.CreatedAt.After(r.Until)) {
					out.Items = append(out.Items, j)
				}
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectPackageGet, func(_ context.Context, r runners.PackageRequest) (runners.Package, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, p := range f.jobs.packages { // newest first per name
				if p.Name == r.Name && (r.Version == "latest" || r.Version == p.Version) {
					return p, nil
				}
			}
			return runners.Package{}, errs.E(errs.NotFound, "no such package version")
		}),
		natsrpc.Handle(runners.SubjectJobRerun, func(_ context.Context, r runners.RerunJobRequest) (runners.Job, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			i := f.findJob(r.ID)
			if i < 0 {
				return runners.Job{}, errs.E(errs.NotFound, "no such job")
			}
			j := f.jobs.items[i]
			f.jobs.created++
			f.jobs.lastRerun = &r
			id := j.ID
			n := runners.Job{ID: "j-new-" + strconv.Itoa(f.jobs.created), Package: j.Package, Version: j.Version, Environment: j.Environment,
				Parameters: j.Parameters, Status: runners.JobPending, PendingReason: runners.PendingQueued, MaxAttempts: j.MaxAttempts,
				CreatedBy: j.CreatedBy, CreatedAt: publishedAt, RerunOf: &id}
			f.jobs.items = append([]runners.Job{n}, f.jobs.items...)
			return n, nil
		}),
		natsrpc.Handle(runners.SubjectDashboardStats, func(_ context.Context, r runners.DashboardStatsRequest) (runners.DashboardStats, error) {
			from := time.Now().UTC().Truncate(time.Hour).Add(-23 * time.Hour)
			return runners.DashboardStats{Hours: 24, From: from, To: from.Add(24 * time.Hour),
				JobsFinished:  []runners.JobsFinishedHour{{Hour: from.Add(20 * time.Hour), Succeeded: 4, Failed: 1}, {Hour: from.Add(23 * time.Hour), Canceled: 2}},
				JobsWaiting:   []runners.JobsWaiting{{Environment: runners.EnvDevelopment}, {Environment: runners.EnvStaging, Jobs: 3}, {Environment: runners.EnvProduction, Jobs: 1}},
				RunnersOnline: []runners.RunnersOnlineHour{{Hour: from.Add(22 * time.Hour), Environment: runners.EnvProduction, Avg: 1.5, Max: 2}},
				PickupLatency: []runners.PickupLatencyHour{{Hour: from.Add(20 * time.Hour), Jobs: 5, P95Seconds: 2.25}}}, nil
		}),
		natsrpc.Handle(runners.SubjectRunnerMetrics, func(_ context.Context, r runners.RunnerMetricsRequest) (runners.RunnerMetricsHistory, error) {
			if r.ID != "r-1" {
				return runners.RunnerMetricsHistory{}, errs.E(errs.NotFound, "no such runner")
			}
			m := publishedAt.Truncate(time.Minute)
			return runners.RunnerMetricsHistory{RunnerID: r.ID, Hours: 24, Points: []runners.MetricsPoint{
				{Minute: m, Samples: 4, CPUPercentAvg: 10, CPUPercentMax: 30, MemoryPercentAvg: 40, MemoryPercentMax: 45, DiskFreeBytesMin: 20 << 30},
				{Minute: m.Add(time.Minute), Samples: 4, CPUPercentAvg: 12.5, CPUPercentMax: 50, MemoryPercentAvg: 41, MemoryPercentMax: 44, DiskFreeBytesMin: 19 << 30},
			}}, nil
		}),
		natsrpc.Handle(runners.SubjectJobGet, func(_ context.Context, r runners.JobRequest) (runners.Job, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if i := f.findJob(r.ID); i >= 0 {
				return f.jobs.items[i], nil
			}
			return runners.Job{}, errs.E(errs.NotFound, "no such job")
		}),
		natsrpc.Handle(runners.SubjectJobLogs, func(_ context.Context, r runners.JobLogsRequest) (runners.JobLogs, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.jobs.lastLogs = r
			out := runners.JobLogs{Lines: []runners.LogLine{}}
			for _, l := range f.jobs.logs[r.ID] {
				if l.Seq > r.After {
					out.Lines = append(out.Lines, l)
				}
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectJobCreate, func(ctx context.Context, r runners.CreateJobRequest) (runners.Job, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.jobs.lastCreate = &r
			i := slices.IndexFunc(f.jobs.packages, func(p runners.Package) bool {
				return p.Name == r.Package && (r.Version == "" || r.Version == "latest" || p.Version == r.Version)
			})
			switch {
			case !slices.Contains(runners.Environments, r.Environment):
				return runners.Job{}, errs.E(errs.InvalidArgument, "environment must be one of Development, Staging, Production")
			case i < 0:
				return runners.Job{}, errs.E(errs.NotFound, "no such package version")
			case r.Package == "params" && !strings.Contains(string(r.Parameters), `"who"`):
				return runners.Job{}, errs.E(errs.InvalidArgument, `parameter "who": required, and missing`)
			}
			f.jobs.created++
			j := runners.Job{ID: "j-new-" + strconv.Itoa(f.jobs.created), Package: r.Package, Version: f.jobs.packages[i].Version,
				Environment: r.Environment, Parameters: r.Parameters, Status: runners.JobPending, PendingReason: runners.PendingQueued,
				MaxAttempts: 1, CreatedAt: time.Now()}
			f.jobs.items = append([]runners.Job{j}, f.jobs.items...)
			return j, nil
		}),
		natsrpc.Handle(runners.SubjectJobCancel, func(_ context.Context, r runners.JobRequest) (runners.Job, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			i := f.findJob(r.ID)
			if i < 0 {
				return runners.Job{}, errs.E(errs.NotFound, "no such job")
			}
			j := &f.jobs.items[i]
			switch j.Status {
			case runners.JobSucceeded, runners.JobFailed, runners.JobCanceled:
				return runners.Job{}, errs.E(errs.Conflict, "the job has finished")
			case runners.JobPending:
				j.Status, j.PendingReason = runners.JobCanceled, ""
			default:
				j.CancelRequested = true
			}
			f.jobs.canceled = append(f.jobs.canceled, r.ID)
			return *j, nil
		}),
	}
}
