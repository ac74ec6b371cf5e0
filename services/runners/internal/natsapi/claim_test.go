package natsapi_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
)

func TestClaimMatching(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	plain := h.register(t, "plain", runners.EnvStaging)
	gpu := h.register(t, "gpu", runners.EnvStaging, "gpu", "linux")
	prod := h.register(t, "prod", runners.EnvProduction, "gpu", "linux")
	needsGPU := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Labels: []string{"gpu"}})
	forPlain := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, RunnerID: plain.Runner.ID})
	anyOne := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	none := func(t *testing.T, reg runners.Registered) {
		t.Helper()
		if c, err := h.claim(reg, 0); c != nil || err != nil {
			t.Fatalf("claim = %+v, %v", c, err)
		}
	}
	t.Run("a runner of another environment gets nothing", func(t *testing.T) { none(t, prod) })
	t.Run("a runner without the labels skips the job and gets the next it may run", func(t *testing.T) {
		if c := h.mustClaim(t, plain); c.ID != forPlain.ID || c.Attempt != 1 || c.Package.SHA256 == "" || c.Package.Version != "1.0.0" {
			t.Fatalf("claimed %+v", c)
		}
	})
	t.Run("a job aimed at another runner is left alone", func(t *testing.T) {
		if c := h.mustClaim(t, gpu); c.ID != needsGPU.ID {
			t.Fatalf("claimed %s", c.ID)
		}
		if c := h.mustClaim(t, gpu); c.ID != anyOne.ID {
			t.Fatalf("claimed %s", c.ID)
		}
		none(t, gpu)
	})
	t.Run("the claimed job shows its runner and lease", func(t *testing.T) {
		j := h.getJob(t, needsGPU.ID)
		if j.Status != runners.JobClaimed || j.RunnerID == nil || *j.RunnerID != gpu.Runner.ID || j.Attempts != 1 {
			t.Fatalf("job %+v", j)
		}
	})
	t.Run("a wrong secret claims nothing", func(t *testing.T) {
		bad := plain
		bad.MachineSecret = "exk_ms_wrong"
		_, err := h.claim(bad, 0)
		wantKind(t, err, "invalid_credentials")
	})
}

// TestClaimLooksPastManyJobsItMayNotRun: a claim reads the queue a page
// at a time, a short first page (most claims take the first entry), then
// longer ones; the job a runner may run behind 30 it may not is found.
func TestClaimLooksPastManyJobsItMayNotRun(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	plain := h.register(t, "plain", runners.EnvStaging)
	for range 30 {
		h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Labels: []string{"gpu"}})
	}
	mine := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	if c := h.mustClaim(t, plain); c.ID != mine.ID {
		t.Fatalf("claimed %s, want the 31st job %s", c.ID, mine.ID)
	}
	if c, err := h.claim(plain, 0); c != nil || err != nil {
		t.Fatalf("a second claim got %+v, %v: only gpu jobs are left", c, err)
	}
}

// claimAll has n runners of Staging claim with wait 0 until the queue is
// empty, and returns every job id claimed, by runner.
func (h *jobsHarness) claimAll(t *testing.T, regs []runners.Registered) [][]string {
	t.Helper()
	got := make([][]string, len(regs))
	var wg sync.WaitGroup
	for i, reg := range regs {
		wg.Go(func() {
			for {
				c, err := h.claim(reg, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if c == nil {
					return
				}
				got[i] = append(got[i], c.ID)
			}
		})
	}
	wg.Wait()
	return got
}

func (h *jobsHarness) runnerFleet(t *testing.T, n int) []runners.Registered {
	t.Helper()
	regs := make([]runners.Registered, n)
	for i := range regs {
		regs[i] = h.register(t, fmt.Sprintf("r%02d", i), runners.EnvStaging)
	}
	return regs
}

func (h *jobsHarness) createMany(t *testing.T, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging}).ID
	}
	return ids
}

// wantEachOnce checks that got holds every id of want exactly once.
func wantEachOnce(t *testing.T, want []string, got [][]string) {
	t.Helper()
	var all []string
	for _, ids := range got {
		all = append(all, ids...)
	}
	slices.Sort(all)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(all, want) {
		t.Fatalf("claimed %d jobs (%d distinct), want each of %d once", len(all), len(slices.Compact(slices.Clone(all))), len(want))
	}
}

func TestClaimExactlyOnce(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	regs := h.runnerFleet(t, 10)
	ids := h.createMany(t, 200)
	got := h.claimAll(t, regs)
	wantEachOnce(t, ids, got)
	var claimed int
	if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM jobs WHERE status = 'claimed' AND attempt = 1").Scan(&claimed); err != nil || claimed != 200 {
		t.Fatalf("%d claimed, %v", claimed, err)
	}
}

// TestClaimLongPoll has 20 runners waiting in long polls while 100 jobs are
// created one by one by another instance of the service (so the wake-up
// goes through Redis and this instance's watcher), and measures the time
// from the start of each create to the runner holding the job.
func TestClaimLongPoll(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	regs := h.runnerFleet(t, 20)
	other := h.jobService(t)
	got := make(chan [2]string, 100)
	stop := make(chan struct{})
	wg := h.claimUntil(t, regs, 2, stop, got)
	defer func() { close(stop); wg.Wait() }()
	time.Sleep(200 * time.Millisecond) // every runner waiting
	lat := make([]time.Duration, 0, 100)
	for range 100 {
		start := time.Now()
		j, err := other.Create(as(operator), job.NewJob{Package: "etl", Environment: runners.EnvStaging})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			lat = append(lat, time.Since(start))
			if g[1] != j.ID {
				t.Fatalf("claimed %s, created %s", g[1], j.ID)
			}
		case <-time.After(time.Second):
			t.Fatal("a job created while runners wait was not handed over within 1 s")
		}
	}
	slices.Sort(lat)
	t.Logf("pickup latency (create start -> runner has it, 20 runners waiting, 100 jobs): p50 %v, p99 %v, max %v",
		lat[49], lat[98], lat[99])
	if lat[49] > 100*time.Millisecond {
		t.Fatalf("p50 %v: waiting claims are not woken at once", lat[49])
	}
}

// A claim whose reply was lost is asked again under the same claim id: the
// runner gets the job it was handed, not a lease to wait out.
func TestClaimRepeatedUnderItsIDReturnsTheSameJob(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	b := h.register(t, "b", runners.EnvStaging)
	first := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	second := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})

	got, err := h.claimAs(a, 0, "claim-1")
	if err != nil || got == nil || got.ID != first.ID {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	t.Run("the same id gets the same job, not the next", func(t *testing.T) {
		again, err := h.claimAs(a, 0, "claim-1")
		if err != nil || again == nil || again.ID != first.ID || again.Attempt != got.Attempt {
			t.Fatalf("repeated claim = %+v, %v", again, err)
		}
		if status, attempt := h.status(t, second.ID); status != runners.JobPending || attempt != 1 {
			t.Fatalf("the second job is %s at attempt %d", status, attempt)
		}
	})
	t.Run("another runner's claim under the same id gets its own job", func(t *testing.T) {
		other, err := h.claimAs(b, 0, "claim-1")
		if err != nil || other == nil || other.ID != second.ID {
			t.Fatalf("claim = %+v, %v", other, err)
		}
	})
	t.Run("once the job runs, the id hands out nothing", func(t *testing.T) {
		h.beatWith(t, a, first.ID)
		if again, err := h.claimAs(a, 0, "claim-1"); again != nil || err != nil {
			t.Fatalf("repeated claim after start = %+v, %v", again, err)
		}
	})
	t.Run("a claim sent as first does not look for the job its id holds", func(t *testing.T) {
		// Only an agent that breaks its word (first on a repeat) sees this:
		// the Hub trusts the header and hands out the next job.
		third := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		if again, err := h.claimAs(a, 0, "claim-3"); again == nil || again.ID != third.ID || err != nil {
			t.Fatalf("claim = %+v, %v", again, err)
		}
		fourth := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		ctx, cancel := context.WithTimeout(gateway(sourceIP), runners.ClaimTimeout)
		defer cancel()
		resp, err := call[runners.ClaimResponse](ctx, h.harness, runners.SubjectClaim,
			runners.ClaimRequest{AgentRequest: agent(a), ClaimID: "claim-3", First: true})
		if err != nil || resp.Job == nil || resp.Job.ID != fourth.ID {
			t.Fatalf("first claim under a used id = %+v, %v (want the fourth job %s)", resp.Job, err, fourth.ID)
		}
	})
	t.Run("a claim id that is not visible ASCII is refused", func(t *testing.T) {
		_, err := h.claimAs(a, 0, "bad id")
		wantKind(t, err, "invalid_argument")
	})
}

// A runner deleted while it waits in a claim gets no job: its claim ends
// with invalid_credentials and the job goes to the next runner at once.
func TestClaimOfARunnerDeletedWhileWaiting(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	gone, next := h.register(t, "gone", runners.EnvStaging), h.register(t, "next", runners.EnvStaging)
	errc := make(chan error, 1)
	go func() {
		c, err := h.claim(gone, 10)
		if c != nil {
			err = fmt.Errorf("the deleted runner claimed %s", c.ID)
		}
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // it waits
	if _, err := call[runners.DeleteResponse](as(admin), h.harness, runners.SubjectDelete, runners.DeleteRequest{ID: gone.Runner.ID}); err != nil {
		t.Fatal(err)
	}
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	wantKind(t, <-errc, "invalid_credentials")
	if c := h.mustClaim(t, next); c.ID != j.ID || c.Attempt != 1 {
		t.Fatalf("claimed %+v", c)
	}
}

// The agent's retry of a claim shares its id with the orphaned wait its
// first try left behind (a gateway killed mid-poll): whichever of the two
// takes a job, both return it, so the live one gets it at once.
func TestClaimRetryTakesOverItsOrphan(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	got := make(chan string, 2)
	for range 2 {
		go func() {
			c, err := h.claimAs(a, 10, "retried")
			if err != nil || c == nil {
				got <- fmt.Sprintf("claim = %+v, %v", c, err)
				return
			}
			got <- c.ID
		}()
	}
	time.Sleep(300 * time.Millisecond) // both wait
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	for range 2 {
		select {
		case id := <-got:
			if id != j.ID {
				t.Fatalf("a wait of the claim returned %s, want %s", id, j.ID)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("a wait of the claim did not return the job at once")
		}
	}
}

// A claim carries its caller's deadline: one that reaches the service with
// too little of it left takes no job (its caller is gone and repeats it),
// and one queued a while waits only for what is left.
func TestClaimKeepsToItsCallersDeadline(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	claim := func(wait int, deadline time.Time) (*runners.ClaimedJob, time.Duration, error) {
		ctx, cancel := context.WithDeadline(gateway(sourceIP), deadline)
		defer cancel()
		began := time.Now()
		resp, err := call[runners.ClaimResponse](ctx, h.harness, runners.SubjectClaim,
			runners.ClaimRequest{AgentRequest: agent(a), WaitSeconds: wait, ClaimID: "late-1"})
		return resp.Job, time.Since(began), err
	}
	t.Run("a claim its caller gave up on takes no job", func(t *testing.T) {
		j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		got, _, err := claim(0, time.Now().Add(time.Second))
		if got != nil || err != nil {
			t.Fatalf("claim past its caller's deadline = %+v, %v; want nothing", got, err)
		}
		if status, _ := h.status(t, j.ID); status != runners.JobPending {
			t.Fatalf("the job is %s; a claim nobody receives took it", status)
		}
		if got, err := h.claimAs(a, 0, "late-2"); err != nil || got == nil || got.ID != j.ID {
			t.Fatalf("the next claim = %+v, %v; want the job", got, err)
		}
	})
	t.Run("a claim waits only for what its caller has left", func(t *testing.T) {
		got, took, err := claim(30, time.Now().Add(3*time.Second))
		if got != nil || err != nil || took > 2500*time.Millisecond {
			t.Fatalf("claim with 3 s left of a 30 s wait = %+v, %v after %s; want nothing within about 1 s", got, err, took)
		}
	})
}
