package loadgen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// fakeHub hands out jobs to long-polling claims and remembers their status.
type fakeHub struct {
	pkg       []byte
	queue     chan string
	mu        sync.Mutex
	status    map[string]string
	finished  map[string]time.Time
	carried   int         // results that rode on claims
	uploads   int         // log uploads (each takes a job up)
	headers   http.Header // of the last runner request
	abandoned int         // claims whose client hung up before the answer
	batches   []int       // sizes of the POST job-batches requests
}

func newFakeHub(t testing.TB) (*fakeHub, *httptest.Server) {
	h := &fakeHub{pkg: []byte("zip bytes"), queue: make(chan string, 10000), status: map[string]string{}, finished: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/jobs", h.create)
	mux.HandleFunc("POST "+runners.PathJobBatches, h.createBatch)
	mux.HandleFunc("GET /api/v1/jobs/{id}", h.get)
	mux.HandleFunc("POST /api/v1/runner/jobs/claim", h.claim)
	mux.HandleFunc("GET /api/v1/runner/packages/{name}/{version}", func(w http.ResponseWriter, _ *http.Request) { w.Write(h.pkg) })
	mux.HandleFunc("POST /api/v1/runner/jobs/{id}/logs", func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		h.uploads++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/runner/jobs/{id}/complete", h.complete)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *fakeHub) create(w http.ResponseWriter, r *http.Request) {
	var req runners.CreateJobRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Package != "noop" || r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "bad create", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	id := "job-" + strconv.Itoa(len(h.status))
	h.status[id] = runners.JobPending
	h.mu.Unlock()
	h.queue <- id
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(runners.Job{ID: id, Status: runners.JobPending})
}

func (h *fakeHub) createBatch(w http.ResponseWriter, r *http.Request) {
	var req runners.CreateJobsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Jobs) == 0 || len(req.Jobs) > runners.MaxJobBatch || r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	var resp runners.CreateJobsResponse
	h.mu.Lock()
	h.batches = append(h.batches, len(req.Jobs))
	for _, j := range req.Jobs {
		if j.Package != "noop" {
			h.mu.Unlock()
			http.Error(w, "bad job", http.StatusBadRequest)
			return
		}
	}
	for range req.Jobs {
		id := "job-" + strconv.Itoa(len(h.status))
		h.status[id] = runners.JobPending
		resp.Items = append(resp.Items, runners.Job{ID: id, Status: runners.JobPending})
	}
	h.mu.Unlock()
	for _, j := range resp.Items {
		h.queue <- j.ID
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(resp)
}

func (h *fakeHub) get(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	j := runners.Job{ID: r.PathValue("id"), Status: h.status[r.PathValue("id")]}
	if at, ok := h.finished[j.ID]; ok {
		j.FinishedAt = &at
	}
	h.mu.Unlock()
	json.NewEncoder(w).Encode(j)
}

func (h *fakeHub) claim(w http.ResponseWriter, r *http.Request) {
	var body runners.ClaimBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad claim body", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.headers = r.Header.Clone()
	if d := body.Complete; d != nil {
		if d.Status != runners.JobSucceeded || d.Attempt != 1 || len(d.Lines) > 1 {
			h.mu.Unlock()
			http.Error(w, "bad result", http.StatusBadRequest)
			return
		}
		h.carried++
		h.succeeded(d.JobID)
	}
	h.mu.Unlock()
	wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
	select {
	case id := <-h.queue:
		sum := sha256.Sum256(h.pkg)
		c := runners.ClaimedJob{ID: id, Attempt: 1, Package: runners.PackageRef{
			Name: "noop", Version: "1.0.0", SHA256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(h.pkg))}}
		c.Status = runners.JobClaimed // a Hub that reads results on claims
		if r.Header.Get(runners.HeaderClaimStart) == "true" {
			c.Status = runners.JobRunning
		}
		json.NewEncoder(w).Encode(c)
	case <-time.After(time.Duration(wait) * time.Second):
		w.WriteHeader(http.StatusNoContent)
	case <-r.Context().Done():
		h.mu.Lock()
		h.abandoned++
		h.mu.Unlock()
	}
}

func (h *fakeHub) complete(w http.ResponseWriter, r *http.Request) {
	var body runners.CompleteBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Status != runners.JobSucceeded || body.Attempt != 1 {
		http.Error(w, "bad complete", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.succeeded(r.PathValue("id"))
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// succeeded records job id finished (h.mu held); a repeat changes nothing.
func (h *fakeHub) succeeded(id string) {
	if h.status[id] != runners.JobSucceeded {
		h.status[id], h.finished[id] = runners.JobSucceeded, time.Now()
	}
}

// fakeClients are 5 runners and 3 API clients of the fake Hub.
// claimStart: their claims take their jobs up.
func fakeClients(t *testing.T, srv *httptest.Server, claimStart bool) ([]Runner, []*hubclient.Client) {
	t.Helper()
	sims := make([]Runner, 5)
	for i := range sims {
		var err error
		if sims[i], err = NewRunner(srv.URL, fmt.Sprintf("runner-%d", i), "secret", srv.Client(), claimStart); err != nil {
			t.Fatal(err)
		}
	}
	apis := make([]*hubclient.Client, 3)
	for i := range apis {
		var err error
		if apis[i], err = hubclient.New(srv.URL, "tok", hubclient.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	return sims, apis
}

// TestRunJobs runs the jobs part as the agent (a log upload takes each
// job up, its result rides on the next claim) and with claims that take
// their jobs up (the line goes with the result).
func TestRunJobs(t *testing.T) {
	for _, claimStart := range []bool{false, true} {
		t.Run(fmt.Sprintf("claim start %v", claimStart), func(t *testing.T) { testRunJobs(t, claimStart) })
	}
}

func testRunJobs(t *testing.T, claimStart bool) {
	h, srv := newFakeHub(t)
	sims, apis := fakeClients(t, srv, claimStart)
	errs := &Errors{}
	rep, err := RunJobs(context.Background(), JobsConfig{
		Fleet: &Fleet{Runners: sims, ClaimWait: time.Second, Download: true, Errors: errs},
		APIs:  apis, Job: runners.CreateJobRequest{Package: "noop", Version: "1.0.0", Environment: runners.EnvDevelopment},
		PickupJobs: 10, PickupEvery: 5 * time.Millisecond, Jobs: 50, FinishTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Pickup; p.Create.Requests != 10 || p.Pickup.Requests != 10 || p.Pickup.Errors != 0 || p.After201.Requests != 10 || p.Pickup.P50 <= 0 {
		t.Fatalf("pickup = %+v", p)
	}
	if tp := rep.Throughput; tp.Created != 50 || tp.Finished != 50 || tp.JobsPerSecond <= 0 || tp.Elapsed <= 0 || tp.Create.Errors != 0 {
		t.Fatalf("throughput = %+v", tp)
	}
	if v := rep.Verify; v.Checked != 60 || v.Succeeded != 60 || v.NotSucceeded != 0 {
		t.Fatalf("verify = %+v", v)
	}
	if len(rep.Errors) != 0 {
		t.Fatalf("errors = %v", rep.Errors)
	}
	time.Sleep(100 * time.Millisecond) // a hang-up reaches the handler a moment later
	h.mu.Lock()
	defer h.mu.Unlock()
	// The last result of each of the 5 runners may go on its own, when the
	// run stops before its next claim; every other rides on a claim.
	if h.carried < 55 {
		t.Fatalf("%d of 60 results rode on a claim", h.carried)
	}
	if (claimStart && h.uploads != 0) || (!claimStart && h.uploads != 60) {
		t.Fatalf("%d log uploads with claims taking jobs up %v", h.uploads, claimStart)
	}
	if h.abandoned != 0 {
		t.Fatalf("%d claims were dropped by their runner: in a real Hub they would go on waiting and could take a job", h.abandoned)
	}
	if h.headers.Get(runners.HeaderProtocol) != "1" || h.headers.Get("User-Agent") != userAgent {
		t.Fatalf("runner headers = %v", h.headers)
	}
	if id, secret, ok := (&http.Request{Header: h.headers}).BasicAuth(); !ok || secret != "secret" || id == "" {
		t.Fatalf("runner credentials = %q %q %v", id, secret, ok)
	}
}

func TestRunJobsCountsFailures(t *testing.T) {
	h, srv := newFakeHub(t)
	h.pkg = []byte("other bytes") // the claim announces the SHA-256 of these; serve different ones below
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/runner/packages/{name}/{version}", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("tampered!!!")) })
	mux.Handle("/", srv.Config.Handler)
	bad := httptest.NewServer(mux)
	t.Cleanup(bad.Close)

	api, err := hubclient.New(bad.URL, "tok", hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := NewRunner(bad.URL, "r", "s", bad.Client(), false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunJobs(context.Background(), JobsConfig{
		Fleet: &Fleet{Runners: []Runner{sim}, ClaimWait: time.Second, Download: true, Errors: &Errors{}},
		APIs:  []*hubclient.Client{api}, Job: runners.CreateJobRequest{Package: "noop"},
		PickupJobs: 2, PickupEvery: time.Millisecond, Jobs: 3, FinishTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors["download"]["wrong bytes"] != 5 {
		t.Fatalf("errors = %v, want 5 downloads of the wrong bytes", rep.Errors)
	}
	if rep.Throughput.Finished != 0 || rep.Verify.NotSucceeded != 5 || rep.Verify.Statuses[runners.JobPending] != 5 {
		t.Fatalf("throughput = %+v, verify = %+v", rep.Throughput, rep.Verify)
	}
	if rep.Pickup.Pickup.Errors != 0 || rep.Pickup.Pickup.Requests != 2 {
		t.Fatalf("a job that reached its runner was picked up, even if it then failed: %+v", rep.Pickup.Pickup)
	}
}

func TestRunJobsInBatches(t *testing.T) {
	h, srv := newFakeHub(t)
	sims, apis := fakeClients(t, srv, true)
	rep, err := RunJobs(context.Background(), JobsConfig{
		Fleet: &Fleet{Runners: sims, ClaimWait: time.Second, Download: true, Errors: &Errors{}},
		APIs:  apis, Job: runners.CreateJobRequest{Package: "noop", Version: "1.0.0", Environment: runners.EnvDevelopment},
		PickupJobs: 4, PickupEvery: 5 * time.Millisecond, Jobs: 50, FinishTimeout: 5 * time.Second, CreateBatch: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	tp := rep.Throughput
	if tp.CreateBatch != 8 || tp.Created != 50 || tp.Finished != 50 || tp.Create.Requests != 50 || tp.Create.Errors != 0 || tp.Turnaround.Requests != 50 {
		t.Fatalf("throughput = %+v", tp)
	}
	if rep.Pickup.Create.Requests != 4 || rep.Verify.Succeeded != 54 || len(rep.Errors) != 0 {
		t.Fatalf("pickup = %+v, verify = %+v, errors = %v", rep.Pickup, rep.Verify, rep.Errors)
	}
	h.mu.Lock()
	sizes := slices.Sorted(slices.Values(h.batches))
	h.mu.Unlock()
	if want := []int{2, 8, 8, 8, 8, 8, 8}; !slices.Equal(sizes, want) {
		t.Fatalf("batch sizes %v, want %v (the pickup jobs go to POST /api/v1/jobs)", sizes, want)
	}
	var out strings.Builder
	PrintJobs(&out, rep)
	if !strings.Contains(out.String(), "created 50 jobs in batches of 8") || !strings.Contains(out.String(), `"create_batch":8`) {
		t.Fatalf("the report does not name the batches:\n%s", out.String())
	}
}

func TestRunJobsCountsFailedBatches(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+runners.PathJobBatches, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	api, err := hubclient.New(srv.URL, "tok", hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	errs := &Errors{}
	rep, _ := measureThroughput(context.Background(), JobsConfig{
		Fleet: &Fleet{Errors: errs}, APIs: []*hubclient.Client{api}, Job: runners.CreateJobRequest{Package: "noop"},
		Jobs: 10, CreateBatch: 4, FinishTimeout: time.Millisecond,
	})
	if rep.Created != 0 || rep.Create.Errors != 10 || rep.Create.Requests != 10 {
		t.Fatalf("create = %+v, want all 10 jobs failed", rep.Create)
	}
	if got := errs.Snapshot()["create-batch"]["503"]; got != 3 {
		t.Fatalf("errors = %v, want 3 failed batch requests (4, 4, 2) under create-batch 503", errs.Snapshot())
	}
}

func TestNextBatch(t *testing.T) {
	for _, tc := range []struct{ size, want, last int }{
		{1, 4000, 1}, {64, 63, 32}, {100, 40, 100}, {7, 572, 3},
	} {
		// 32 clients take batches from the shared count until none is left.
		var issued atomic.Int64
		var mu sync.Mutex
		var sizes []int
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for {
					n := nextBatch(&issued, tc.size, 4000)
					if n == 0 {
						return
					}
					mu.Lock()
					sizes = append(sizes, n)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(sizes)
		total := 0
		for _, n := range sizes {
			total += n
		}
		if total != 4000 || len(sizes) != tc.want || sizes[0] != tc.last || sizes[len(sizes)-1] != tc.size {
			t.Errorf("batches of %d: %d jobs in %d batches, smallest %d; want 4000 in %d, smallest %d", tc.size, total, len(sizes), sizes[0], tc.want, tc.last)
		}
	}
	var issued atomic.Int64
	if n := nextBatch(&issued, 50, 0); n != 50 {
		t.Fatalf("without a limit a batch is full, got %d", n)
	}
}
