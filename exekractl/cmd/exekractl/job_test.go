package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

var time0 = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func TestParseJobStart(t *testing.T) {
	pf := filepath.Join(t.TempDir(), "params.json")
	os.WriteFile(pf, []byte(`{"count": 3, "name": "file", "nested": {"a": [1]}}`), 0o600)
	js, err := parseJobStart([]string{"--package", "hello", "--environment", "staging",
		"--label", "linux", "--label", "gpu", "--param", "name=cli", "--param", "expr=a=b",
		"--param", "empty=", "--params-file", pf, "--max-attempts", "3", "--timeout-seconds", "60", "--wait"})
	if err != nil {
		t.Fatal(err)
	}
	r := js.req
	if r.Package != "hello" || r.Environment != runners.EnvStaging || r.MaxAttempts != 3 || r.TimeoutSeconds != 60 || !js.wait {
		t.Errorf("parsed %+v", r)
	}
	if strings.Join(r.Labels, ",") != "linux,gpu" {
		t.Errorf("labels %v", r.Labels)
	}
	var params map[string]any
	if err := json.Unmarshal(r.Parameters, &params); err != nil {
		t.Fatal(err)
	}
	// --param wins over the file; values after the first "=" are kept whole.
	if params["name"] != "cli" || params["expr"] != "a=b" || params["empty"] != "" || params["count"] != float64(3) || params["nested"] == nil {
		t.Errorf("params %v", params)
	}

	js, err = parseJobStart([]string{"--package", "p", "--environment", "Production"})
	if err != nil || js.req.Parameters != nil || js.req.Labels != nil || js.wait {
		t.Errorf("minimal: %+v, %v", js, err)
	}

	for name, args := range map[string][]string{
		"bad environment":  {"--package", "p", "--environment", "qa"},
		"no environment":   {"--package", "p"},
		"no package":       {"--environment", "Staging"},
		"param without =":  {"--package", "p", "--environment", "Staging", "--param", "novalue"},
		"param empty name": {"--package", "p", "--environment", "Staging", "--param", "=v"},
		"negative":         {"--package", "p", "--environment", "Staging", "--max-attempts", "-1"},
		"params not obj":   {"--package", "p", "--environment", "Staging", "--params-file", writeFile(t, "[1]")},
		"params missing":   {"--package", "p", "--environment", "Staging", "--params-file", "/nonexistent/x.json"},
		"stray argument":   {"--package", "p", "--environment", "Staging", "extra"},
	} {
		if _, err := parseJobStart(args); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := parseJobStart([]string{"--package", "p", "--environment", "qa"}); err == nil || !strings.Contains(err.Error(), "Development, Staging, Production") {
		t.Errorf("bad environment message: %v", err)
	}
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte(body), 0o600)
	return p
}

// jobHub fakes the job routes: the job runs through pending, running and
// then final (with a log line per poll).
type jobHub struct {
	mu      sync.Mutex
	created runners.CreateJobRequest
	polls   int
	final   string
	lines   []runners.LogLine
	keys    []string // Idempotency-Key of each start
	refuse  int      // how many starts answer 503 first
}

func (h *jobHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok-123" {
		apiError(w, 401, "unauthenticated", "no token")
		return
	}
	job := runners.Job{ID: "job-1", Package: "hello", Version: "1.2.3", Environment: "Staging", Status: runners.JobPending, PendingReason: runners.PendingNoneOnline}
	switch {
	case r.Method == "POST" && r.URL.Path == "/api/v1/jobs":
		h.keys = append(h.keys, r.Header.Get(runners.HeaderIdempotencyKey))
		if h.refuse > 0 {
			h.refuse--
			apiError(w, 503, "unavailable", "the runners service is restarting")
			return
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h.created); err != nil {
			apiError(w, 400, "invalid_argument", err.Error())
			return
		}
		w.WriteHeader(201)
	case r.Method == "GET" && r.URL.Path == "/api/v1/jobs/job-1":
		h.polls++
		switch {
		case h.polls == 1:
		case h.polls < 4:
			job.Status, job.PendingReason = runners.JobRunning, ""
			h.lines = append(h.lines, runners.LogLine{Seq: int64(len(h.lines) + 1), Stream: "stdout", Message: "line " + strconv.Itoa(len(h.lines)+1)})
		default:
			job.Status, job.PendingReason = h.final, ""
			h.lines = append(h.lines, runners.LogLine{Seq: int64(len(h.lines) + 1), Stream: "stderr", Message: "bye"})
			if h.final != runners.JobSucceeded {
				code, msg := 2, "exit status 2"
				job.ExitCode, job.Error = &code, &msg
			}
		}
	case r.Method == "GET" && r.URL.Path == "/api/v1/jobs/job-1/logs":
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		out := runners.JobLogs{Lines: []runners.LogLine{}}
		for _, l := range h.lines {
			if l.Seq > after {
				out.Lines = append(out.Lines, l)
			}
		}
		json.NewEncoder(w).Encode(out)
		return
	default:
		apiError(w, 404, "not_found", r.URL.Path)
		return
	}
	json.NewEncoder(w).Encode(job)
}

func TestJobStartWait(t *testing.T) {
	for _, final := range []string{runners.JobSucceeded, runners.JobFailed} {
		t.Run(final, func(t *testing.T) {
			h := &jobHub{final: final}
			hub := newFakeHub(t, h)
			var out strings.Builder
			args := append([]string{"job", "start", "--package", "hello", "--environment", "Staging",
				"--param", "who=world", "--wait", "--poll-interval", "5ms"}, hub.flags()...)
			err := run(context.Background(), args, &out)
			if final == runners.JobSucceeded && err != nil {
				t.Fatalf("succeeded job: %v\n%s", err, out.String())
			}
			if final == runners.JobFailed && (err == nil || !strings.Contains(err.Error(), "failed (exit code 2): exit status 2")) {
				t.Fatalf("failed job: %v", err)
			}
			want := "job-1\nstatus: pending (no_runner_online)\nstatus: running\n[stdout] line 1\n[stdout] line 2\nstatus: " + final + "\n[stderr] bye\n"
			if out.String() != want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
			}
			if h.created.Package != "hello" || string(h.created.Parameters) != `{"who":"world"}` {
				t.Errorf("created %+v", h.created)
			}
		})
	}
}

func TestJobStartNoWait(t *testing.T) {
	h := &jobHub{}
	hub := newFakeHub(t, h)
	var out strings.Builder
	if err := run(context.Background(), append([]string{"job", "start", "--package", "hello", "--environment", "Staging"}, hub.flags()...), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "job-1\n" || h.polls != 0 {
		t.Errorf("output %q, polls %d", out.String(), h.polls)
	}
	// An error answer is reported.
	bad := newFakeHub(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, 404, "not_found", "no package hello")
	}))
	err := run(context.Background(), append([]string{"job", "start", "--package", "hello", "--environment", "Staging"}, bad.flags()...), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no package hello") {
		t.Errorf("error answer: %v", err)
	}
}

// A start the Hub could not answer is sent again under the same
// Idempotency-Key, so it can never start two jobs.
func TestJobStartRetriesUnderOneKey(t *testing.T) {
	h := &jobHub{refuse: 1}
	hub := newFakeHub(t, h)
	var out strings.Builder
	if err := run(context.Background(), append([]string{"job", "start", "--package", "hello", "--environment", "Staging"}, hub.flags()...), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "job-1\n" || len(h.keys) != 2 || len(h.keys[0]) != 32 || h.keys[1] != h.keys[0] {
		t.Fatalf("output %q, keys %q", out.String(), h.keys)
	}
}
