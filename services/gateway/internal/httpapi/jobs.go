package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
)

// createJob starts a job; a repeat under the same Idempotency-Key returns
// the job the first request created.
func (s *Server) createJob(c *gin.Context) error {
	var req runners.CreateJobRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	req.IdempotencyKey = c.GetHeader(runners.HeaderIdempotencyKey)
	return forward(c, s, runners.SubjectJobCreate, req, http.StatusCreated)
}

// createJobs starts several jobs, all or none; a repeat under the same
// Idempotency-Key returns the jobs the first request created. The service
// checks each job and the count; the gateway refuses only what it sees
// without the service (no jobs, or more than a batch holds), so such a
// request costs no bus call.
func (s *Server) createJobs(c *gin.Context) error {
	var req runners.CreateJobsRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	switch n := len(req.Jobs); {
	case n == 0:
		return errs.E(errs.InvalidArgument, "jobs must hold at least one job")
	case n > runners.MaxJobBatch:
		return errs.Ef(errs.InvalidArgument, "jobs holds %d jobs; a batch holds at most %d", n, runners.MaxJobBatch)
	}
	req.IdempotencyKey = c.GetHeader(runners.HeaderIdempotencyKey)
	for i := range req.Jobs {
		req.Jobs[i].IdempotencyKey = "" // ignored, as in POST /api/v1/jobs: the header covers the batch
	}
	return forward(c, s, runners.SubjectJobCreateBatch, req, http.StatusCreated)
}

func (s *Server) listJobs(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	req := runners.ListJobsRequest{Limit: limit, Cursor: c.Query("cursor"), Status: c.Query("status"),
		Environment: c.Query("environment"), RunnerID: c.Query("runner_id"), ScheduleID: c.Query("schedule_id")}
	return forward(c, s, runners.SubjectJobList, req, http.StatusOK)
}

func (s *Server) getJob(c *gin.Context) error {
	return forward(c, s, runners.SubjectJobGet, runners.JobRequest{ID: c.Param("id")}, http.StatusOK)
}

func (s *Server) cancelJob(c *gin.Context) error {
	return forward(c, s, runners.SubjectJobCancel, runners.JobRequest{ID: c.Param("id")}, http.StatusOK)
}

func (s *Server) jobLogs(c *gin.Context) error {
	after, err := queryInt(c, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	req := runners.JobLogsRequest{ID: c.Param("id"), After: int64(after)}
	return forward(c, s, runners.SubjectJobLogs, req, http.StatusOK)
}

// queryInt reads an integer query parameter within [lo, hi].
func queryInt(c *gin.Context, name string, def, lo, hi int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, errs.Ef(errs.InvalidArgument, "%s must be a whole number from %d to %d, not %q", name, lo, hi, raw)
	}
	return n, nil
}

// agentRequest is what every runner-side job call carries.
func agentRequest(c *gin.Context) (runners.AgentRequest, error) {
	creds, err := runnerCredentials(c)
	if err != nil {
		return runners.AgentRequest{}, err
	}
	return runners.AgentRequest{Credentials: creds, Protocol: c.GetHeader(runners.HeaderProtocol), UserAgent: c.GetHeader(runners.HeaderUserAgent)}, nil
}

// claimJob long-polls: 200 with a job, or 204 when none arrived within wait.
func (s *Server) claimJob(c *gin.Context) error {
	ar, err := agentRequest(c)
	if err != nil {
		return err
	}
	wait, err := queryInt(c, runners.QueryWait, 0, 0, runners.MaxClaimWaitSeconds)
	if err != nil {
		return err
	}
	// Should the runners instance serving the claim die, or be too busy to
	// answer in time, the agent hears so shortly after its wait and asks
	// again with the same claim id. The claim runs to its answer even if the
	// runner goes meanwhile: a job it took is then released at once, not
	// left to its lease.
	deadline := time.Now().Add(time.Duration(wait+runners.ClaimGraceSeconds) * time.Second)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(c.Request.Context()), deadline)
	defer cancel()
	// The service reads the deadline (natsrpc.CallerDeadline): a claim that
	// waited queued behind other work waits only for what is left.
	req := runners.ClaimRequest{AgentRequest: ar, WaitSeconds: wait, ClaimID: c.GetHeader(runners.HeaderClaimID),
		First: c.GetHeader(runners.HeaderClaimFirst) == "true", Start: c.GetHeader(runners.HeaderClaimStart) == "true"}
	if req.Complete, err = claimCompletion(c); err != nil {
		return err
	}
	resp, err := s.claim(ctx, req)
	if err == nil && resp.Job != nil && c.Request.Context().Err() != nil {
		s.release(context.WithoutCancel(c.Request.Context()), ar, resp)
		return nil
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && c.Request.Context().Err() == nil {
		// A busy Hub is slower, not wrong: an ordinary empty answer telling
		// the agent to repeat this claim, not an error counted against it.
		s.Log.Warn("claim not answered in time; the agent repeats it", "wait_s", wait)
		c.Header(runners.HeaderClaimRepeat, "true")
		c.Status(http.StatusNoContent)
		return nil
	}
	if err == nil && req.Complete != nil && !resp.Completed {
		err = s.completeAfter(c.Request.Context(), ar, *req.Complete)
	}
	if err != nil {
		return err
	}
	if resp.Job == nil {
		c.Status(http.StatusNoContent)
		return nil
	}
	c.JSON(http.StatusOK, resp.Job)
	return nil
}

// release gives back the job of a claim whose runner went (its connection
// closed) before the answer could reach it: nothing can have run it, so it
// goes back to pending without spending an attempt rather than wait out its
// lease. A runners instance older than releases does not answer; the job
// then waits out its lease as before.
func (s *Server) release(ctx context.Context, ar runners.AgentRequest, resp runners.ClaimResponse) {
	ctx, cancel := context.WithTimeout(ctx, natsrpc.DefaultTimeout)
	defer cancel()
	log := s.Log.With("job_id", resp.Job.ID, "attempt", resp.Job.Attempt, "runner_id", ar.Credentials.RunnerID)
	r, err := natsrpc.Call[runners.ReleaseResponse](ctx, s.NATS, runners.SubjectRelease,
		runners.ReleaseRequest{AgentRequest: ar, JobID: resp.Job.ID, Attempt: resp.Job.Attempt, Lease: resp.Lease})
	switch {
	case err != nil:
		log.Warn("a claim's runner went before its answer; the job waits out its lease", "err", err)
	case r.Released:
		log.Info("a claim's runner went before its answer; its job went back to the queue")
	default:
		log.Info("a claim's runner went before its answer; the runner has heard of the job since, which stays its")
	}
}

// completeAfter stores a result a claim carried that the runners instance
// serving the claim ignored (one older than results on claims, in a rolling
// upgrade). A result refused for good is logged, not answered: the claim
// has taken its job, and the agent would drop the result on that answer
// anyway; a failure that may pass fails the claim, whose repeat (same
// claim id) returns the job and carries the result again.
func (s *Server) completeAfter(ctx context.Context, ar runners.AgentRequest, done runners.CompleteRequest) error {
	done.AgentRequest = ar
	_, err := natsrpc.Call[runners.CompleteResponse](ctx, s.NATS, runners.SubjectComplete, done)
	switch errs.KindOf(err) {
	case errs.Conflict, errs.PermissionDenied, errs.NotFound, errs.InvalidArgument:
		s.Log.Warn("a result carried on a claim was refused", "job_id", done.JobID, "attempt", done.Attempt, "err", err)
		return nil
	}
	return err
}

// claimCompletion reads a claim's optional body (ClaimBody): the result of
// a job the runner ran, or nil. No body, or {}, is a plain claim.
func claimCompletion(c *gin.Context) (*runners.CompleteRequest, error) {
	var body runners.ClaimBody
	if err := web.DecodeOptionalJSON(c, &body); err != nil || body.Complete == nil {
		return nil, err
	}
	req := completeRequest(runners.AgentRequest{}, body.Complete.JobID, body.Complete.CompleteBody)
	return &req, nil
}

// completeRequest is a completion's body as the runners service takes it.
func completeRequest(ar runners.AgentRequest, jobID string, body runners.CompleteBody) runners.CompleteRequest {
	return runners.CompleteRequest{AgentRequest: ar, JobID: jobID, Attempt: body.Attempt,
		Status: body.Status, ExitCode: body.ExitCode, Error: body.Error, Lines: body.Lines}
}

// claim sends req to a live runners instance (Instances) and, should that
// instance end before it answers, to another under the same claim id,
// until ctx ends; without known instances, to whichever the bus picks.
func (s *Server) claim(ctx context.Context, req runners.ClaimRequest) (runners.ClaimResponse, error) {
	for {
		instance, gone, ok := s.Instances.Pick()
		if !ok {
			return natsrpc.Call[runners.ClaimResponse](ctx, s.NATS, runners.SubjectClaim, req)
		}
		resp, err := s.claimAt(ctx, instance, gone, req)
		switch {
		case ctx.Err() == nil && sendAgain(err):
			s.Log.Info("sending a claim again", "instance", instance, "why", err.Error())
			s.Instances.countSentAgain(err)
			req.First = false // its first sending may have given the claim a job
		case ctx.Err() == nil && errors.Is(err, nats.ErrNoResponders):
			s.Instances.Forget(instance)
		default:
			return resp, err
		}
	}
}

// claimAt sends req to instance, ending with the cause of gone (the
// instance's context, RunnerInstances.Pick: errInstanceGone, errAnswerLost)
// once it ends, and with errAnswerLost when this gateway's connection to
// the bus breaks.
func (s *Server) claimAt(ctx context.Context, instance string, gone context.Context, req runners.ClaimRequest) (runners.ClaimResponse, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(gone, func() { cancel(context.Cause(gone)) })
	defer stop()
	resp, err := natsrpc.CallVia[runners.ClaimResponse](ctx, s.NATS, runners.SubjectClaim, runners.InstanceClaimSubject(instance), req)
	if cause := context.Cause(ctx); sendAgain(cause) {
		return resp, cause
	}
	if errors.Is(err, nats.ErrDisconnected) { // sent again once reconnected
		return resp, errAnswerLost
	}
	return resp, err
}

func (s *Server) uploadLogs(c *gin.Context) error {
	ar, err := agentRequest(c)
	if err != nil {
		return err
	}
	var body runners.LogsBody
	if err := web.DecodeJSON(c, &body); err != nil {
		return err
	}
	req := runners.AgentLogsRequest{AgentRequest: ar, JobID: c.Param("id"), Attempt: body.Attempt, Lines: body.Lines}
	resp, err := natsrpc.Call[runners.AgentLogsResponse](c.Request.Context(), s.NATS, runners.SubjectLogs, req)
	if err != nil {
		return err
	}
	if resp.CancelRequested {
		c.Header(runners.HeaderCancelRequested, "true")
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) completeJob(c *gin.Context) error {
	ar, err := agentRequest(c)
	if err != nil {
		return err
	}
	var body runners.CompleteBody
	if err := web.DecodeJSON(c, &body); err != nil {
		return err
	}
	req := completeRequest(ar, c.Param("id"), body)
	if _, err := natsrpc.Call[runners.CompleteResponse](c.Request.Context(), s.NATS, runners.SubjectComplete, req); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// rerunJob starts a job like an earlier one; a repeat under the same
// Idempotency-Key returns the job the first request created.
func (s *Server) rerunJob(c *gin.Context) error {
	req := runners.RerunJobRequest{ID: c.Param("id"), IdempotencyKey: c.GetHeader(runners.HeaderIdempotencyKey)}
	return forward(c, s, runners.SubjectJobRerun, req, http.StatusCreated)
}

// dashboardStats answers the dashboard's figures over ?hours=.
func (s *Server) dashboardStats(c *gin.Context) error {
	hours, err := queryInt(c, "hours", runners.DefaultStatsHours, 1, runners.RunnerCountsHistoryHours)
	if err != nil {
		return err
	}
	return forward(c, s, runners.SubjectDashboardStats, runners.DashboardStatsRequest{Hours: hours}, http.StatusOK)
}
