package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
)

// batchStub stands in for identity (two session tokens: an OPERATOR's and
// a user's without a role) and for the runners service's batch create,
// recording every batch that reached it.
type batchStub struct {
	mu      sync.Mutex
	batches []runners.CreateJobsRequest
}

func (st *batchStub) seen() []runners.CreateJobsRequest {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]runners.CreateJobsRequest(nil), st.batches...)
}

// batchReply is what the stub answers for req: a job per job asked for.
func batchReply(req runners.CreateJobsRequest) runners.CreateJobsResponse {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := runners.CreateJobsResponse{Items: []runners.Job{}}
	for i, j := range req.Jobs {
		out.Items = append(out.Items, runners.Job{ID: fmt.Sprintf("job-%d", i), Package: j.Package, Version: "1.0.0",
			Environment: j.Environment, Labels: []string{}, Parameters: json.RawMessage(`{}`), Status: runners.JobPending,
			MaxAttempts: 1, TimeoutSeconds: 3600, CreatedBy: "u-op", CreatedAt: at})
	}
	return out
}

// batchGateway is the gateway's whole engine (route table, policy, body
// limit) in front of the stub.
func batchGateway(t *testing.T, st *batchStub) http.Handler {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.DiscardHandler)
	users := map[string]identity.User{
		"op-session":      {ID: "u-op", Email: "op@example.com", Role: identity.RoleOperator},
		"no-role-session": {ID: "u-none", Email: "none@example.com", Role: ""},
	}
	eps := []natsrpc.Endpoint{
		natsrpc.Handle(identity.SubjectAuthenticate, func(_ context.Context, r identity.AuthenticateRequest) (identity.Principal, error) {
			u, ok := users[r.Token]
			if !ok {
				return identity.Principal{}, errs.E(errs.Unauthenticated, "the session is invalid or has ended")
			}
			return identity.Principal{User: u, ExpiresAt: time.Now().Add(time.Hour)}, nil
		}),
		natsrpc.Handle(runners.SubjectJobCreateBatch, func(_ context.Context, req runners.CreateJobsRequest) (runners.CreateJobsResponse, error) {
			st.mu.Lock()
			defer st.mu.Unlock()
			st.batches = append(st.batches, req)
			return batchReply(req), nil
		}),
	}
	serveStubs(t, url, log, "stub-batch", eps)
	s := &Server{Log: log, Metrics: metrics.New("gateway"), NATS: natsrpc.NewClient(natstest.Connect(t, url), nil), MaxBodyBytes: 1 << 20}
	e, err := s.Engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// jobsBody is a batch body of n jobs.
func jobsBody(n int) string {
	jobs := make([]string, n)
	for i := range jobs {
		jobs[i] = fmt.Sprintf(`{"package":"pkg-%d","environment":"Development"}`, i)
	}
	return `{"jobs":[` + strings.Join(jobs, ",") + `]}`
}

func TestCreateJobBatch(t *testing.T) {
	st := &batchStub{}
	h := batchGateway(t, st)
	send := func(t *testing.T, token, body string, header map[string]string) (*httptest.ResponseRecorder, map[string]any) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, runners.PathJobBatches, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d, body %q is not a JSON object: %v", w.Code, w.Body, err)
		}
		return w, out
	}

	t.Run("the batch reaches the service with the Idempotency-Key and its reply is the 201", func(t *testing.T) {
		before := len(st.seen())
		body := `{"jobs":[{"package":"build","version":"1.2.0","environment":"Development","labels":["linux"],"parameters":{"n":1}},` +
			`{"package":"deploy","environment":"Production","runner_id":"r-1","max_attempts":3,"timeout_seconds":60}]}`
		w, got := send(t, "op-session", body, map[string]string{runners.HeaderIdempotencyKey: "batch-key-1"})
		if w.Code != http.StatusCreated {
			t.Fatalf("status %d, body %s; want 201", w.Code, w.Body)
		}
		seen := st.seen()
		if len(seen) != before+1 {
			t.Fatalf("%d batches reached the service, want 1", len(seen)-before)
		}
		req := seen[len(seen)-1]
		want := runners.CreateJobsRequest{IdempotencyKey: "batch-key-1", Jobs: []runners.CreateJobRequest{
			{Package: "build", Version: "1.2.0", Environment: "Development", Labels: []string{"linux"}, Parameters: json.RawMessage(`{"n":1}`)},
			{Package: "deploy", Environment: "Production", RunnerID: "r-1", MaxAttempts: 3, TimeoutSeconds: 60},
		}}
		if !reflect.DeepEqual(req, want) {
			t.Fatalf("the service got %+v\nwant %+v", req, want)
		}
		// The answer is the service's reply, not something the gateway made up.
		raw, err := json.Marshal(batchReply(want))
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]any
		if err := json.Unmarshal(raw, &reply); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, reply) {
			t.Fatalf("201 body %v\nwant the service's reply %v", got, reply)
		}
	})

	t.Run("without an Idempotency-Key the request carries none", func(t *testing.T) {
		if w, _ := send(t, "op-session", jobsBody(1), nil); w.Code != http.StatusCreated {
			t.Fatalf("status %d, body %s; want 201", w.Code, w.Body)
		}
		seen := st.seen()
		if k := seen[len(seen)-1].IdempotencyKey; k != "" {
			t.Fatalf("idempotency key %q, want none", k)
		}
	})

	t.Run("a batch of the most jobs allowed is forwarded", func(t *testing.T) {
		w, got := send(t, "op-session", jobsBody(runners.MaxJobBatch), nil)
		items, _ := got["items"].([]any)
		if w.Code != http.StatusCreated || len(items) != runners.MaxJobBatch {
			t.Fatalf("status %d, %d items; want 201 with %d", w.Code, len(items), runners.MaxJobBatch)
		}
	})

	for _, tc := range []struct{ name, body, message string }{
		{"an empty jobs list", `{"jobs":[]}`, "at least one job"},
		{"no jobs field", `{}`, "at least one job"},
		{"more jobs than a batch holds", jobsBody(runners.MaxJobBatch + 1), fmt.Sprintf("at most %d", runners.MaxJobBatch)},
		{"an unknown field in the body", `{"jobs":[{"package":"p","environment":"Development"}],"priority":1}`, "priority"},
		{"an unknown field in a job", `{"jobs":[{"package":"p","environment":"Development","priority":1}]}`, "priority"},
	} {
		t.Run(tc.name+" is a 400 without a call to the service", func(t *testing.T) {
			before := len(st.seen())
			w, got := send(t, "op-session", tc.body, map[string]string{runners.HeaderIdempotencyKey: "k"})
			e, _ := got["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if w.Code != http.StatusBadRequest || e["code"] != "invalid_argument" || !strings.Contains(msg, tc.message) {
				t.Fatalf("status %d, body %s; want 400 invalid_argument mentioning %q", w.Code, w.Body, tc.message)
			}
			if n := len(st.seen()) - before; n != 0 {
				t.Fatalf("%d refused batches reached the service", n)
			}
		})
	}

	for _, tc := range []struct {
		name, token string
		status      int
		code        string
	}{
		{"a caller without a role is refused", "no-role-session", http.StatusForbidden, "permission_denied"},
		{"an anonymous caller must sign in", "", http.StatusUnauthorized, "unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(st.seen())
			w, got := send(t, tc.token, jobsBody(1), nil)
			e, _ := got["error"].(map[string]any)
			if w.Code != tc.status || e["code"] != tc.code {
				t.Fatalf("status %d, body %s; want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
			if n := len(st.seen()) - before; n != 0 {
				t.Fatalf("%d refused batches reached the service", n)
			}
		})
	}
}
