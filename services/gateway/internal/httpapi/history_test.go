package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// historyStub stands in for the runners service behind the re-run, metrics
// and stats routes and records what reached it.
type historyStub struct {
	mu      sync.Mutex
	reruns  []runners.RerunJobRequest
	metrics []runners.RunnerMetricsRequest
	stats   []runners.DashboardStatsRequest
}

func (st *historyStub) calls() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.reruns) + len(st.metrics) + len(st.stats)
}

func historyServer(t *testing.T, st *historyStub) *httptest.Server {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.DiscardHandler)
	eps := []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectJobRerun, func(_ context.Context, req runners.RerunJobRequest) (runners.Job, error) {
			st.mu.Lock()
			defer st.mu.Unlock()
			st.reruns = append(st.reruns, req)
			src := req.ID
			return runners.Job{ID: "new-job", RerunOf: &src, Labels: []string{}}, nil
		}),
		natsrpc.Handle(runners.SubjectRunnerMetrics, func(_ context.Context, req runners.RunnerMetricsRequest) (runners.RunnerMetricsHistory, error) {
			st.mu.Lock()
			defer st.mu.Unlock()
			st.metrics = append(st.metrics, req)
			return runners.RunnerMetricsHistory{RunnerID: req.ID, Hours: req.Hours, Points: []runners.MetricsPoint{}}, nil
		}),
		natsrpc.Handle(runners.SubjectDashboardStats, func(_ context.Context, req runners.DashboardStatsRequest) (runners.DashboardStats, error) {
			st.mu.Lock()
			defer st.mu.Unlock()
			st.stats = append(st.stats, req)
			return runners.DashboardStats{Hours: req.Hours}, nil
		}),
	}
	serveStubs(t, url, log, "stub-history", eps)
	s := &Server{Log: log, NATS: natsrpc.NewClient(natstest.Connect(t, url), nil)}
	e := gin.New()
	e.POST(runners.PathJobRerun, web.Wrap(log, s.rerunJob))
	e.GET(runners.PathRunnerMetrics, web.Wrap(log, s.runnerMetrics))
	e.GET(runners.PathDashboardStats, web.Wrap(log, s.dashboardStats))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func TestHistoryRoutes(t *testing.T) {
	st := &historyStub{}
	srv := historyServer(t, st)
	do := func(t *testing.T, method, path string, header map[string]string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	t.Run("a re-run carries the job id and the Idempotency-Key and answers 201", func(t *testing.T) {
		code, body := do(t, http.MethodPost, "/api/v1/jobs/job-1/rerun", map[string]string{runners.HeaderIdempotencyKey: "k-1"})
		if code != http.StatusCreated || body["rerun_of"] != "job-1" {
			t.Fatalf("%d %v", code, body)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if len(st.reruns) != 1 || st.reruns[0] != (runners.RerunJobRequest{ID: "job-1", IdempotencyKey: "k-1"}) {
			t.Fatalf("%+v", st.reruns)
		}
	})
	t.Run("hours default to the whole history", func(t *testing.T) {
		if code, body := do(t, http.MethodGet, "/api/v1/runners/r-1/metrics", nil); code != http.StatusOK || body["hours"] != float64(24) {
			t.Fatalf("%d %v", code, body)
		}
		if code, body := do(t, http.MethodGet, "/api/v1/stats/dashboard", nil); code != http.StatusOK || body["hours"] != float64(24) {
			t.Fatalf("%d %v", code, body)
		}
		if code, body := do(t, http.MethodGet, "/api/v1/stats/dashboard?hours=48", nil); code != http.StatusOK || body["hours"] != float64(48) {
			t.Fatalf("%d %v", code, body)
		}
	})
	before := st.calls()
	for _, path := range []string{
		"/api/v1/runners/r-1/metrics?hours=0", "/api/v1/runners/r-1/metrics?hours=25", "/api/v1/runners/r-1/metrics?hours=x",
		"/api/v1/stats/dashboard?hours=0", "/api/v1/stats/dashboard?hours=49", "/api/v1/stats/dashboard?hours=1.5",
	} {
		t.Run("bad hours are refused naming the parameter: "+path, func(t *testing.T) {
			code, body := do(t, http.MethodGet, path, nil)
			e, _ := body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if code != http.StatusBadRequest || e["code"] != "invalid_argument" || !strings.HasPrefix(msg, "hours ") {
				t.Fatalf("%d %v", code, body)
			}
		})
	}
	if st.calls() != before {
		t.Fatal("a refused request reached the service")
	}
}
