package loadgen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
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
	headers   http.Header // of the last runner request
	abandoned int         // claims whose client hung up before the answer
}

func newFakeHub(t testing.TB) (*fakeHub, *httptest.Server) {
	h := &fakeHub{pkg: []byte("zip bytes"), queue: make(chan string, 10000), status: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/jobs", h.create)
	mux.HandleFunc("GET /api/v1/jobs/{id}", h.get)
	mux.HandleFunc("POST /api/v1/runner/jobs/claim", h.claim)
	mux.HandleFunc("GET /api/v1/runner/packages/{name}/{version}", func(w http.ResponseWriter, _ *http.Request) { w.Write(h.pkg) })
	mux.HandleFunc("POST /api/v1/runner/jobs/{id}/logs", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
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

func (h *fakeHub) get(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	st := h.status[r.PathValue("id")]
	h.mu.Unlock()
	json.NewEncoder(w).Encode(runners.Job{ID: r.PathValue("id"), Status: st})
}

func (h *fakeHub) claim(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.headers = r.Header.Clone()
	h.mu.Unlock()
	wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
	select {
	case id := <-h.queue:
		sum := sha256.Sum256(h.pkg)
		json.NewEncoder(w).Encode(runners.ClaimedJob{ID: id, Attempt: 1, Package: runners.PackageRef{
			Name: "noop", Version: "1.0.0", SHA256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(h.pkg))}})
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
	h.status[r.PathValue("id")] = runners.JobSucceeded
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func TestRunJobs(t *testing.T) {
	h, srv := newFakeHub(t)
	sims := make([]Runner, 5)
	for i := range sims {
		var err error
		if sims[i], err = NewRunner(srv.URL, fmt.Sprintf("runner-%d", i), "secret", srv.Client()); err != nil {
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
	sim, err := NewRunner(bad.URL, "r", "s", bad.Client())
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
