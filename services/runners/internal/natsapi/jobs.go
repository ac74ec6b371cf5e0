package natsapi

import (
	"context"
	"time"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// JobEndpoints lists the jobs operations: the user side (roles checked by
// the domain) and the runner side (the registry checks the runner's
// credentials, as for a heartbeat, before the jobs act).
func JobEndpoints(runners *runner.Service, svc *job.Service) []natsrpc.Endpoint {
	return append(jobUserEndpoints(svc), jobAgentEndpoints(runners, svc)...)
}

func jobUserEndpoints(svc *job.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectJobCreate, func(ctx context.Context, req contract.CreateJobRequest) (contract.Job, error) {
			j, err := svc.Create(ctx, createRequest(req))
			return ToJob(job.Viewed{Job: j}), err
		}),
		natsrpc.Handle(contract.SubjectJobCreateBatch, func(ctx context.Context, req contract.CreateJobsRequest) (contract.CreateJobsResponse, error) {
			ins := make([]job.NewJob, len(req.Jobs))
			for i, r := range req.Jobs {
				ins[i] = createRequest(r)
			}
			js, err := svc.CreateBatch(ctx, ins, req.IdempotencyKey)
			if err != nil {
				return contract.CreateJobsResponse{}, err
			}
			out := contract.CreateJobsResponse{Items: make([]contract.Job, len(js))}
			for i, j := range js {
				out.Items[i] = ToJob(job.Viewed{Job: j})
			}
			return out, nil
		}),
		natsrpc.Handle(contract.SubjectJobGet, func(ctx context.Context, req contract.JobRequest) (contract.Job, error) {
			v, err := svc.Get(ctx, req.ID)
			return ToJob(v), err
		}),
		natsrpc.Handle(contract.SubjectJobList, func(ctx context.Context, req contract.ListJobsRequest) (contract.ListJobsResponse, error) {
			q := job.Query{Limit: req.Limit, Status: req.Status, Environment: req.Environment, RunnerID: req.RunnerID,
				Package: req.Package, Since: req.Since, Until: req.Until, ScheduleID: req.ScheduleID}
			page, err := svc.List(ctx, q, req.Cursor)
			if err != nil {
				return contract.ListJobsResponse{}, err
			}
			items := make([]contract.Job, 0, len(page.Jobs))
			for _, j := range page.Jobs {
				items = append(items, ToJob(job.Viewed{Job: j}))
			}
			return contract.ListJobsResponse{Items: items, NextCursor: page.NextCursor}, nil
		}),
		natsrpc.Handle(contract.SubjectJobRerun, func(ctx context.Context, req contract.RerunJobRequest) (contract.Job, error) {
			j, err := svc.Rerun(ctx, req.ID, req.IdempotencyKey)
			return ToJob(job.Viewed{Job: j}), err
		}),
		natsrpc.Handle(contract.SubjectJobCancel, func(ctx context.Context, req contract.JobRequest) (contract.Job, error) {
			j, err := svc.Cancel(ctx, req.ID)
			return ToJob(job.Viewed{Job: j}), err
		}),
		natsrpc.Handle(contract.SubjectJobLogs, func(ctx context.Context, req contract.JobLogsRequest) (contract.JobLogs, error) {
			lines, err := svc.Logs(ctx, req.ID, req.After, req.Limit)
			out := contract.JobLogs{Lines: make([]contract.LogLine, 0, len(lines))}
			for _, l := range lines {
				out.Lines = append(out.Lines, contract.LogLine{Seq: l.Seq, TS: l.TS, Stream: l.Stream, Message: l.Message})
			}
			return out, err
		}),
	}
}

// claimReplyMargin is how long before the caller's deadline a claim stops
// waiting, so that its reply (with a job, if one came) still finds the caller.
const claimReplyMargin = 2 * time.Second

// claimEndpoint serves claims on subject: SubjectClaim (any instance) or
// this instance's own (InstanceEndpoints).
func claimEndpoint(subject string, runners *runner.Service, svc *job.Service) natsrpc.Endpoint {
	claim := natsrpc.Handle(subject, func(ctx context.Context, req contract.ClaimRequest) (contract.ClaimResponse, error) {
		r, err := authenticated(ctx, runners, req.AgentRequest)
		if err == nil {
			err = runners.CheckClaimingAgent(ctx, r.ID, req.UserAgent)
		}
		if c := req.Complete; err == nil && c != nil {
			// The result of the job the runner ran, before it asks for the next.
			err = svc.Complete(ctx, r, c.JobID, c.Attempt, outcome(*c))
		}
		if err != nil {
			return contract.ClaimResponse{}, err
		}
		done := req.Complete != nil
		wait := time.Duration(req.WaitSeconds) * time.Second
		if deadline, ok := natsrpc.CallerDeadline(ctx); ok {
			// Queued behind other work: wait only for what the caller has left.
			left := time.Until(deadline) - claimReplyMargin
			if left <= 0 {
				return contract.ClaimResponse{Completed: done}, nil // the caller is gone; it repeats the claim
			}
			wait = min(wait, left)
		}
		j, err := svc.Claim(ctx, r, wait, req.ClaimID, req.First, req.Start)
		if err != nil || j == nil {
			return contract.ClaimResponse{Completed: done}, err
		}
		resp := contract.ClaimResponse{Job: ToClaimed(*j), Completed: done}
		if j.LeaseExpiresAt != nil {
			resp.Lease = *j.LeaseExpiresAt
		}
		return resp, nil
	})
	claim.Timeout = contract.ClaimTimeout // a long poll outlives DefaultTimeout
	return claim
}

func jobAgentEndpoints(runners *runner.Service, svc *job.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		claimEndpoint(contract.SubjectClaim, runners, svc),
		natsrpc.Handle(contract.SubjectLogs, func(ctx context.Context, req contract.AgentLogsRequest) (contract.AgentLogsResponse, error) {
			r, err := authenticated(ctx, runners, req.AgentRequest)
			if err != nil {
				return contract.AgentLogsResponse{}, err
			}
			stop, err := svc.AppendLogs(ctx, r, req.JobID, req.Attempt, logLines(req.Lines))
			return contract.AgentLogsResponse{CancelRequested: stop}, err
		}),
		natsrpc.Handle(contract.SubjectComplete, func(ctx context.Context, req contract.CompleteRequest) (contract.CompleteResponse, error) {
			r, err := authenticated(ctx, runners, req.AgentRequest)
			if err != nil {
				return contract.CompleteResponse{}, err
			}
			return contract.CompleteResponse{}, svc.Complete(ctx, r, req.JobID, req.Attempt, outcome(req))
		}),
		natsrpc.Handle(contract.SubjectRelease, func(ctx context.Context, req contract.ReleaseRequest) (contract.ReleaseResponse, error) {
			r, err := authenticated(ctx, runners, req.AgentRequest)
			if err != nil {
				return contract.ReleaseResponse{}, err
			}
			released, err := svc.Release(ctx, r, req.JobID, req.Attempt, req.Lease)
			return contract.ReleaseResponse{Released: released}, err
		}),
	}
}

// outcome is a completion as the jobs domain takes it.
func outcome(req contract.CompleteRequest) job.Outcome {
	return job.Outcome{Status: req.Status, ExitCode: req.ExitCode, Error: req.Error, Lines: logLines(req.Lines)}
}

// logLines are a runner's uploaded lines as the jobs domain takes them.
func logLines(in []contract.AgentLogLine) []job.LogLine {
	out := make([]job.LogLine, len(in))
	for i, l := range in {
		out[i] = job.LogLine{TS: l.TS, Stream: l.Stream, Message: l.Message}
	}
	return out
}

// createRequest is a create request as the jobs domain takes it.
func createRequest(req contract.CreateJobRequest) job.NewJob {
	return job.NewJob{Package: req.Package, Version: req.Version, Environment: req.Environment,
		RunnerID: req.RunnerID, Labels: req.Labels, Parameters: req.Parameters, MaxAttempts: req.MaxAttempts,
		TimeoutSeconds: req.TimeoutSeconds, IdempotencyKey: req.IdempotencyKey}
}

func presented(r contract.AgentRequest) runner.Presented {
	return runner.Presented{RunnerID: r.RunnerID, SecretSHA256: r.SecretSHA256, Protocol: r.Protocol, UserAgent: r.UserAgent}
}

// ToJob shows a job as the contract does.
func ToJob(v job.Viewed) contract.Job {
	j := v.Job
	out := contract.Job{ID: j.ID, Package: j.Package.Name, Version: j.Package.Version, Environment: j.Environment,
		Labels: j.Labels, Parameters: j.Parameters, Status: j.Status, PendingReason: v.PendingReason,
		CancelRequested: j.CancelRequested, Attempts: j.Attempts(), MaxAttempts: j.MaxAttempts,
		TimeoutSeconds: j.TimeoutSeconds, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt.UTC(),
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, ExitCode: j.ExitCode}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	if len(out.Parameters) == 0 {
		out.Parameters = []byte(`{}`)
	}
	if j.TargetRunnerID != "" {
		out.TargetRunnerID = &j.TargetRunnerID
		out.RunnerID = &j.TargetRunnerID
	}
	if j.RunnerID != "" {
		out.RunnerID = &j.RunnerID
	}
	if j.Error != "" {
		out.Error = &j.Error
	}
	switch {
	case j.RunnerID != "" && j.RunnerName != "":
		out.RunnerName = &j.RunnerName
	case j.RunnerID == "" && j.TargetRunnerName != "":
		out.RunnerName = &j.TargetRunnerName // runner_id shows the target
	}
	if j.TargetRunnerName != "" {
		out.TargetRunnerName = &j.TargetRunnerName
	}
	out.DurationSeconds = duration(j.StartedAt, j.FinishedAt)
	if j.RerunOf != "" {
		out.RerunOf = &j.RerunOf
	}
	if j.ScheduleID != "" {
		out.ScheduleID, out.ScheduledFor = &j.ScheduleID, j.ScheduledFor
	}
	if j.ScheduleName != "" {
		out.ScheduleName = &j.ScheduleName
	}
	if v.History != nil {
		history := make([]contract.JobAttempt, 0, len(v.History))
		for _, a := range v.History {
			history = append(history, contract.JobAttempt{Number: a.Number, RunnerID: a.RunnerID, RunnerName: a.RunnerName,
				StartedAt: a.StartedAt, RunningAt: a.RunningAt, EndedAt: a.EndedAt, DurationSeconds: duration(&a.StartedAt, a.EndedAt),
				Outcome: a.Outcome, Reason: a.Reason})
		}
		out.AttemptHistory = &history
	}
	return out
}

// duration is the seconds from start to end, nil unless both are known.
func duration(start, end *time.Time) *float64 {
	if start == nil || end == nil {
		return nil
	}
	d := end.Sub(*start).Seconds()
	return &d
}

// ToClaimed shows a claimed job as the runner gets it.
func ToClaimed(j job.Job) *contract.ClaimedJob {
	c := &contract.ClaimedJob{ID: j.ID, Parameters: j.Parameters, TimeoutSeconds: j.TimeoutSeconds, Attempt: j.Attempt,
		Package: contract.PackageRef{Name: j.Package.Name, Version: j.Package.Version, SHA256: j.Package.SHA256, SizeBytes: j.Package.SizeBytes}}
	if j.LeaseExpiresAt != nil {
		c.LeaseExpiresAt = j.LeaseExpiresAt.UTC()
	}
	if len(j.Package.Assets) > 0 {
		c.Assets = j.Package.Assets
	}
	if j.Status == job.StatusRunning || j.Status == job.StatusClaimed {
		c.Status = j.Status
	}
	return c
}
