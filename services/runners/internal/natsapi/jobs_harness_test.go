package natsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/natsapi"
)

// jobsHarness is the registry harness with the jobs operations served too
// (the jobs' watcher running).
type jobsHarness struct{ *harness }

// newJobsHarness serves the registry and the jobs; tune adjusts the jobs domain.
func newJobsHarness(t testing.TB, tune ...func(*job.Deps)) *jobsHarness {
	t.Helper()
	h := &jobsHarness{harness: newHarness(t, tune...)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.jobs.RunWatcher(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	natsrpctest.Serve(t, natstest.Connect(t, h.url), h.log, "exekra-runners-jobs", natsapi.JobEndpoints(h.svc, h.jobs)...)
	return h
}

// publish records a package version as the package storage will.
func (h *jobsHarness) publish(t testing.TB, name, version string, at time.Time) {
	t.Helper()
	_, err := h.pool.Exec(t.Context(), `INSERT INTO packages (name, version, sha256, size_bytes, published_by, published_at)
		VALUES ($1, $2, $3, 1234, 'dev', $4)`, name, version, fmt.Sprintf("%064x", len(name)+len(version)), at)
	if err != nil {
		t.Fatal(err)
	}
}

// create starts a job as an operator.
func (h *jobsHarness) create(t testing.TB, req runners.CreateJobRequest) runners.Job {
	t.Helper()
	return must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate, req))
}

func (h *jobsHarness) getJob(t testing.TB, id string) runners.Job {
	t.Helper()
	return must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobGet, runners.JobRequest{ID: id}))
}

func agent(reg runners.Registered) runners.AgentRequest {
	return runners.AgentRequest{Credentials: runners.Credentials{RunnerID: reg.Runner.ID,
		SecretSHA256: runners.SecretSHA256(reg.MachineSecret)}, UserAgent: "exekra-runner/test"}
}

// claim long-polls for a job as reg (nil: none within wait).
func (h *jobsHarness) claim(reg runners.Registered, wait int) (*runners.ClaimedJob, error) {
	return h.claimAs(reg, wait, "")
}

// claimAs claims under a claim id.
func (h *jobsHarness) claimAs(reg runners.Registered, wait int, claimID string) (*runners.ClaimedJob, error) {
	resp, err := h.claimWith(reg, wait, claimID, nil)
	return resp.Job, err
}

// claimWith claims under a claim id carrying done, the result of a job
// reg ran (nil: none), and returns the whole answer.
func (h *jobsHarness) claimWith(reg runners.Registered, wait int, claimID string, done *runners.CompleteRequest) (runners.ClaimResponse, error) {
	return h.sendClaim(reg, runners.ClaimRequest{WaitSeconds: wait, ClaimID: claimID, Complete: done})
}

// sendClaim sends req as reg's claim, through the gateway.
func (h *jobsHarness) sendClaim(reg runners.Registered, req runners.ClaimRequest) (runners.ClaimResponse, error) {
	ctx, cancel := context.WithTimeout(gateway(sourceIP), runners.ClaimTimeout)
	defer cancel()
	req.AgentRequest = agent(reg)
	return call[runners.ClaimResponse](ctx, h.harness, runners.SubjectClaim, req)
}

// logOf reads a job's log as an operator.
func (h *jobsHarness) logOf(t testing.TB, id string) []runners.LogLine {
	t.Helper()
	return must[runners.JobLogs](t)(call[runners.JobLogs](as(operator), h.harness, runners.SubjectJobLogs,
		runners.JobLogsRequest{ID: id})).Lines
}

func (h *jobsHarness) mustClaim(t testing.TB, reg runners.Registered) runners.ClaimedJob {
	t.Helper()
	c, err := h.claim(reg, 0)
	if err != nil || c == nil {
		t.Fatalf("claim = %v, %v", c, err)
	}
	return *c
}

func (h *jobsHarness) upload(reg runners.Registered, id string, attempt int, msgs ...string) (runners.AgentLogsResponse, error) {
	req := runners.AgentLogsRequest{AgentRequest: agent(reg), JobID: id, Attempt: attempt}
	for _, m := range msgs {
		req.Lines = append(req.Lines, runners.AgentLogLine{TS: h.clock.Now(), Stream: "stdout", Message: m})
	}
	return call[runners.AgentLogsResponse](gateway(sourceIP), h.harness, runners.SubjectLogs, req)
}

func (h *jobsHarness) complete(reg runners.Registered, id string, attempt int, status string) error {
	code := 0
	_, err := call[runners.CompleteResponse](gateway(sourceIP), h.harness, runners.SubjectComplete,
		runners.CompleteRequest{AgentRequest: agent(reg), JobID: id, Attempt: attempt, Status: status, ExitCode: &code})
	return err
}

// beatWith sends a heartbeat naming running jobs.
func (h *jobsHarness) beatWith(t testing.TB, reg runners.Registered, running ...string) runners.HeartbeatResponse {
	t.Helper()
	hb := heartbeat()
	hb.RunningJobIDs = append([]string{}, running...)
	return must[runners.HeartbeatResponse](t)(h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, hb))
}

func (h *jobsHarness) status(t testing.TB, id string) (string, int) {
	t.Helper()
	var status string
	var attempt int
	if err := h.pool.QueryRow(t.Context(), "SELECT status, attempt FROM jobs WHERE id = $1", id).Scan(&status, &attempt); err != nil {
		t.Fatal(err)
	}
	return status, attempt
}

func params(s string) json.RawMessage { return json.RawMessage(s) }

// claimUntil has every runner claim again and again, each claim waiting up
// to wait seconds, until stop is closed; what a claim gets goes to got as
// {runner id, job id}. Wait on the returned group after closing stop.
func (h *jobsHarness) claimUntil(t *testing.T, regs []runners.Registered, wait int, stop <-chan struct{}, got chan<- [2]string) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for _, reg := range regs {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := h.claim(reg, wait)
				if err != nil {
					t.Error(err)
					return
				}
				if c != nil {
					got <- [2]string{reg.Runner.ID, c.ID}
				}
			}
		})
	}
	return &wg
}
