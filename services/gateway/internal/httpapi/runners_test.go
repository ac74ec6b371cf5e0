package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/runnerclient"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// runnerStub stands in for the runners service behind the runner routes
// and records what the gateway asked it.
type runnerStub struct {
	mu        sync.Mutex
	heartbeat runners.HeartbeatRequest
	claims    []runners.ClaimRequest
	handedOut map[string]bool // claim ids given the job
	deadlines []time.Time     // each claim's caller deadline (natsrpc.CallerDeadline)
	logs      runners.AgentLogsRequest
	complete  runners.CompleteRequest
	released  chan runners.ReleaseRequest // releases the gateway sent
}

// goneLease is the lease of the job a "gone-…" claim hands out.
var goneLease = time.Date(2026, 6, 1, 9, 0, 30, 123456000, time.UTC)

const stubSecret = "exk_ms_0123456789abcdef0123456789abcdef01234567"

func (st *runnerStub) check(c runners.Credentials) error {
	if c.SecretSHA256 != runners.SecretSHA256(stubSecret) {
		return errs.E(errs.Unauthenticated, "invalid credentials")
	}
	return nil
}

// runnerServer serves the runner routes, by the contract's paths, with st
// behind them.
func runnerServer(t *testing.T, st *runnerStub) *httptest.Server {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.DiscardHandler)
	eps := []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectHeartbeat, func(_ context.Context, req runners.HeartbeatRequest) (runners.HeartbeatResponse, error) {
			if err := st.check(req.Credentials); err != nil {
				return runners.HeartbeatResponse{}, err
			}
			if why := runners.AgentVersionRefusal("1.4.0", req.Version); req.Version != "v" && why != "" {
				return runners.HeartbeatResponse{}, errs.E(errs.UpgradeRequired, why)
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			st.heartbeat = req
			return runners.HeartbeatResponse{HeartbeatIntervalSeconds: 20, ServerTime: time.Now(), CancelJobIDs: []string{"j9"}}, nil
		}),
		natsrpc.Handle(runners.SubjectClaim, func(ctx context.Context, req runners.ClaimRequest) (runners.ClaimResponse, error) {
			if err := st.check(req.Credentials); err != nil {
				return runners.ClaimResponse{}, err
			}
			deadline, _ := natsrpc.CallerDeadline(ctx)
			if strings.HasPrefix(req.ClaimID, "gone-") {
				time.Sleep(time.Second) // the runner goes meanwhile
				return runners.ClaimResponse{Job: &runners.ClaimedJob{ID: "j7", Attempt: 3, Status: runners.JobRunning}, Lease: goneLease}, nil
			}
			st.mu.Lock()
			st.claims = append(st.claims, req)
			st.deadlines = append(st.deadlines, deadline)
			first, repeat := len(st.claims) == 1, req.ClaimID != "" && st.handedOut[req.ClaimID]
			if first {
				st.handedOut = map[string]bool{req.ClaimID: true}
			}
			st.mu.Unlock()
			if !first && !repeat {
				// A claim id "done-…" is served as a runners instance that
				// stores a result it carries; others as an older one.
				return runners.ClaimResponse{Completed: req.Complete != nil && strings.HasPrefix(req.ClaimID, "done-")}, nil
			}
			if first && strings.HasPrefix(req.ClaimID, "busy-") {
				time.Sleep(time.Until(deadline) + time.Second) // a busy service: the job is the claim's, its reply too late
			}
			return runners.ClaimResponse{Job: &runners.ClaimedJob{ID: "j1", Attempt: 2, TimeoutSeconds: 60,
				Package: runners.PackageRef{Name: "etl", Version: "1.0.0", SHA256: "ab", SizeBytes: 1}}}, nil
		}),
		natsrpc.Handle(runners.SubjectRelease, func(_ context.Context, req runners.ReleaseRequest) (runners.ReleaseResponse, error) {
			if err := st.check(req.Credentials); err != nil {
				return runners.ReleaseResponse{}, err
			}
			st.released <- req
			return runners.ReleaseResponse{Released: true}, nil
		}),
		natsrpc.Handle(runners.SubjectLogs, func(_ context.Context, req runners.AgentLogsRequest) (runners.AgentLogsResponse, error) {
			if err := st.check(req.Credentials); err != nil {
				return runners.AgentLogsResponse{}, err
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			st.logs = req
			return runners.AgentLogsResponse{CancelRequested: true}, nil
		}),
		natsrpc.Handle(runners.SubjectComplete, func(_ context.Context, req runners.CompleteRequest) (runners.CompleteResponse, error) {
			if err := st.check(req.Credentials); err != nil {
				return runners.CompleteResponse{}, err
			}
			if req.Attempt != 2 {
				return runners.CompleteResponse{}, errs.E(errs.Conflict, "attempt 2 of this job is over")
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			st.complete = req
			return runners.CompleteResponse{}, nil
		}),
	}
	serveStubs(t, url, log, "stub-runners", eps)
	s := &Server{Log: log, NATS: natsrpc.NewClient(natstest.Connect(t, url), nil)}
	e := gin.New()
	e.POST(runners.PathHeartbeat, web.Wrap(log, s.heartbeat))
	e.POST(runners.PathClaim, web.Wrap(log, s.claimJob))
	e.POST(runners.PathJobLogs, web.Wrap(log, s.uploadLogs))
	e.POST(runners.PathJobComplete, web.Wrap(log, s.completeJob))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// TestRunnerRoutesSpeakTheClientsProtocol drives the runner handlers with
// the runners' own client: what it sends arrives whole at the service.
func TestRunnerRoutesSpeakTheClientsProtocol(t *testing.T) {
	st := &runnerStub{}
	srv := runnerServer(t, st)
	const runnerID = "0b0c5f5e-8d7e-4b64-9c55-3b1f8f0e7a11"
	c, err := runnerclient.New(runnerclient.Config{Hub: srv.URL, RunnerID: runnerID, Secret: stubSecret, UserAgent: "exekra-runner/test",
		StartOnClaim: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	creds := runners.Credentials{RunnerID: runnerID, SecretSHA256: runners.SecretSHA256(stubSecret)}

	t.Run("heartbeat", func(t *testing.T) {
		resp, err := c.Heartbeat(ctx, runners.Heartbeat{Version: "v", OS: "linux/amd64", Hostname: "h", RunningJobIDs: []string{"j1"}})
		if err != nil || resp.HeartbeatIntervalSeconds != 20 || len(resp.CancelJobIDs) != 1 {
			t.Fatalf("%+v %v", resp, err)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.heartbeat.Credentials != creds || st.heartbeat.Protocol != "1" || st.heartbeat.UserAgent != "exekra-runner/test" ||
			st.heartbeat.Hostname != "h" || len(st.heartbeat.RunningJobIDs) != 1 {
			t.Fatalf("%+v", st.heartbeat)
		}
	})
	t.Run("an agent version the service refuses is a 426 upgrade_required the client knows", func(t *testing.T) {
		_, err := c.Heartbeat(ctx, runners.Heartbeat{Version: "1.1.0", OS: "linux/amd64", Hostname: "h"})
		if !errors.Is(err, runnerclient.ErrUpgradeRequired) || runnerclient.Status(err) != http.StatusUpgradeRequired ||
			!strings.Contains(runnerclient.HubMessage(err), "upgrade the agent to 1.4.x") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("claim: the wait, the claim id and the start reach the service; 204 when none", func(t *testing.T) {
		job, err := c.Claim(ctx, 3*time.Second, "claim-1")
		if err != nil || job == nil || job.ID != "j1" || job.Attempt != 2 || job.Package.Name != "etl" {
			t.Fatalf("%+v %v", job, err)
		}
		if job, err := c.Claim(ctx, 0, "claim-2"); err != nil || job != nil {
			t.Fatalf("%+v %v", job, err)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.claims[0].WaitSeconds != 3 || st.claims[0].ClaimID != "claim-1" || st.claims[0].Credentials != creds || !st.claims[0].Start ||
			st.claims[1].WaitSeconds != 0 || st.claims[1].ClaimID != "claim-2" {
			t.Fatalf("%+v", st.claims)
		}
	})
	t.Run("logs: job, attempt and lines arrive; the cancel comes back", func(t *testing.T) {
		lines := []runners.AgentLogLine{{TS: time.Now().UTC(), Stream: "stderr", Message: "oops"}}
		cancel, err := c.UploadLogs(ctx, "j1", 2, lines)
		if err != nil || !cancel {
			t.Fatalf("%v %v", cancel, err)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.logs.JobID != "j1" || st.logs.Attempt != 2 || len(st.logs.Lines) != 1 || st.logs.Lines[0].Message != "oops" {
			t.Fatalf("%+v", st.logs)
		}
	})
	t.Run("complete: every field of the body arrives", func(t *testing.T) {
		exit := 4
		last := []runners.AgentLogLine{{TS: time.Now().UTC(), Stream: "stdout", Message: "the end"}}
		if err := c.Complete(ctx, "j1", runners.CompleteBody{Status: runners.JobFailed, ExitCode: &exit, Error: "exit code 4", Attempt: 2, Lines: last}); err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		got := st.complete
		st.mu.Unlock()
		if got.JobID != "j1" || got.Attempt != 2 || got.Status != runners.JobFailed || got.ExitCode == nil || *got.ExitCode != 4 || got.Error != "exit code 4" ||
			len(got.Lines) != 1 || got.Lines[0].Message != "the end" {
			t.Fatalf("%+v", got)
		}
		err := c.Complete(ctx, "j1", runners.CompleteBody{Status: runners.JobSucceeded, Attempt: 1})
		if runnerclient.Status(err) != http.StatusConflict || !runnerclient.Permanent(err) {
			t.Fatalf("a stale attempt: %v", err)
		}
	})
	t.Run("claim: a finished job's result rides on it whole; a body of nothing only claims; a bad body is a 400", func(t *testing.T) {
		exit := 0
		done := &runners.ClaimCompletion{JobID: "j1", CompleteBody: runners.CompleteBody{Attempt: 2, Status: runners.JobSucceeded, ExitCode: &exit,
			Lines: []runners.AgentLogLine{{TS: time.Now().UTC(), Stream: "stdout", Message: "ok"}}}}
		st.mu.Lock()
		st.complete = runners.CompleteRequest{}
		st.mu.Unlock()
		if _, err := c.ClaimWith(ctx, 0, "done-1", runnerclient.ClaimOptions{First: true, Done: done}); err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		got, alone := st.claims[len(st.claims)-1].Complete, st.complete
		st.mu.Unlock()
		if got == nil || got.JobID != "j1" || got.Attempt != 2 || got.Status != runners.JobSucceeded || got.ExitCode == nil ||
			len(got.Lines) != 1 || got.Lines[0].Message != "ok" || got.Credentials != (runners.Credentials{}) {
			t.Fatalf("the result the service got: %+v", got)
		}
		if alone.JobID != "" {
			t.Fatalf("a result the claim stored was sent again on its own: %+v", alone)
		}
		// An older runners instance ignores the result: the gateway sends it on.
		if _, err := c.ClaimWith(ctx, 0, "claim-3", runnerclient.ClaimOptions{First: true, Done: done}); err != nil {
			t.Fatal(err)
		}
		st.mu.Lock()
		alone = st.complete
		st.mu.Unlock()
		if alone.JobID != "j1" || alone.Attempt != 2 || len(alone.Lines) != 1 || alone.Credentials != creds {
			t.Fatalf("the result an older instance ignored reached the service as %+v", alone)
		}
		stale := *done
		stale.Attempt = 1 // the stub refuses it: the claim's answer stands, the refusal is logged
		if _, err := c.ClaimWith(ctx, 0, "claim-4", runnerclient.ClaimOptions{First: true, Done: &stale}); err != nil {
			t.Fatalf("a claim whose ignored result was then refused: %v", err)
		}
		send := func(body string) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+runners.ClaimPath(0), strings.NewReader(body))
			req.SetBasicAuth(runnerID, stubSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		for _, body := range []string{"", " \n", "{}"} {
			st.mu.Lock()
			n := len(st.claims)
			st.mu.Unlock()
			if resp := send(body); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("claim with body %q: %d", body, resp.StatusCode)
			}
			st.mu.Lock()
			plain := len(st.claims) == n+1 && st.claims[n].Complete == nil
			st.mu.Unlock()
			if !plain {
				t.Fatalf("claim with body %q did not reach the service as a plain claim", body)
			}
		}
		for _, body := range []string{`{"complete":{"job_id":"j1","status":"succeeded","exit_code":0,"attempt":2,"colour":1}}`, `{"complete":`, `[]`} {
			if resp := send(body); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("claim with body %q: %d, want 400", body, resp.StatusCode)
			}
		}
	})
	t.Run("a wrong secret is a clear 401", func(t *testing.T) {
		wrong, err := runnerclient.New(runnerclient.Config{Hub: srv.URL, RunnerID: runnerID, Secret: "exk_ms_wrong"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wrong.Heartbeat(ctx, runners.Heartbeat{}); !errors.Is(err, runnerclient.ErrCredentialsRefused) {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+runners.ClaimPath(time.Second), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("no credentials: %d %v", resp.StatusCode, resp.Header)
		}
	})
}

// A claim whose runner goes before the answer (its connection closes) runs
// on to the answer; the job it took is released with the runner's
// credentials and the lease the claim set, instead of left to that lease.
func TestAClaimWhoseRunnerWentIsReleased(t *testing.T) {
	st := &runnerStub{released: make(chan runners.ReleaseRequest, 1)}
	srv := runnerServer(t, st)
	const runnerID = "0b0c5f5e-8d7e-4b64-9c55-3b1f8f0e7a11"
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+runners.ClaimPath(5*time.Second), nil)
	req.SetBasicAuth(runnerID, stubSecret)
	req.Header.Set(runners.HeaderClaimID, "gone-1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the claim was answered %d before the runner went", resp.StatusCode)
	}
	select {
	case r := <-st.released:
		want := runners.Credentials{RunnerID: runnerID, SecretSHA256: runners.SecretSHA256(stubSecret)}
		if r.JobID != "j7" || r.Attempt != 3 || !r.Lease.Equal(goneLease) || r.Credentials != want {
			t.Fatalf("release %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the job of a claim whose runner went was not released")
	}
}

// A claim the runners service does not answer within the caller's deadline
// (a saturated Hub) ends as an ordinary 204 asking for a repeat, not a 503;
// the repeat under the same claim id gets the job the slow answer held.
func TestABusyClaimIsRepeatedNotFailed(t *testing.T) {
	st := &runnerStub{}
	srv := runnerServer(t, st)
	c, err := runnerclient.New(runnerclient.Config{Hub: srv.URL, RunnerID: "0b0c5f5e-8d7e-4b64-9c55-3b1f8f0e7a11", Secret: stubSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	began := time.Now()
	job, err := c.Claim(ctx, 0, "busy-1")
	if job != nil || !errors.Is(err, runnerclient.ErrClaimUnfinished) {
		t.Fatalf("a claim the service answered too late: %+v, %v; want ErrClaimUnfinished (204 %s)", job, err, runners.HeaderClaimRepeat)
	}
	if took := time.Since(began); took < runners.ClaimGraceSeconds*time.Second || took > (runners.ClaimGraceSeconds+3)*time.Second {
		t.Errorf("the busy claim was answered after %s; want about its wait plus %d s", took, runners.ClaimGraceSeconds)
	}
	job, err = c.Claim(ctx, 0, "busy-1")
	if err != nil || job == nil || job.ID != "j1" {
		t.Fatalf("the repeat under the same claim id: %+v, %v; want job j1", job, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// The header carries whole milliseconds.
	if d := st.deadlines[0]; d.Before(began.Add(runners.ClaimGraceSeconds*time.Second-time.Millisecond)) || d.After(began.Add((runners.ClaimGraceSeconds+1)*time.Second)) {
		t.Errorf("the claim carried deadline %s; want its wait plus %d s from %s", d, runners.ClaimGraceSeconds, began)
	}
}
