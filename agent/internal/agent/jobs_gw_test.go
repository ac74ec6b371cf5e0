package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// gateway stands in for the Hub's runner routes: it hands out queued jobs,
// serves packages and records logs, completions and heartbeats.
type gateway struct {
	t         *testing.T
	srv       *httptest.Server
	mu        sync.Mutex
	queue     []claimedJob
	pkgs      map[string][]byte
	logs      map[string][]logLine // by job id and attempt ("id/1")
	batches   map[string][]int     // sizes of the log batches
	completes []completion
	hbs       []runners.Heartbeat
	events    []string // "claim", "complete <id>/<attempt>" in order
	cancelHB  map[string]bool
	cancelLog map[string]bool // job ids whose logs replies say cancel_requested
	// completeStatus answers completions (0: 204).
	completeStatus int
	// loseClaims is how many claims that hand out a job answer 503 instead
	// (as if the reply were lost); a repeat under the claim id gets the job.
	loseClaims int
	claimIDs   []string
	// refuseTakeUp answers 409 to the agent taking a job up.
	refuseTakeUp bool
	// status is the status handed-out jobs carry: "" as a Hub older than
	// results on claims, claimed as one that does not take jobs up on
	// claims, running as a claim that took its job up (today's Hub).
	status string
	// refuseResultClaims answers 426 to claims carrying a result;
	// resultClaims counts the claims that carried one.
	refuseResultClaims bool
	resultClaims       int
	alone              []string              // job ids whose results came on the complete route
	handedOut          map[string]claimedJob // by claim id
	// assets answers GET .../assets by job id; assetsRefusal, when set,
	// answers instead (status, code, message), and assetsUnavailable is
	// how many asks answer 503 first.
	assets            map[string][]runners.AgentAsset
	assetsRefusal     *refusal
	assetsUnavailable int
	bad               []string // protocol violations seen
}

type refusal struct {
	status        int
	code, message string
}

type completion struct {
	id   string
	body runners.CompleteBody
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{t: t, pkgs: map[string][]byte{}, logs: map[string][]logLine{}, batches: map[string][]int{},
		cancelHB: map[string]bool{}, cancelLog: map[string]bool{}, handedOut: map[string]claimedJob{},
		assets: map[string][]runners.AgentAsset{}}
	g.srv = httptest.NewTLSServer(g)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != testID || pass != testSecret || r.Header.Get("Exekra-Protocol") != "1" ||
		!strings.HasPrefix(r.Header.Get("User-Agent"), "exekra-runner/") {
		g.mu.Lock()
		g.bad = append(g.bad, r.Method+" "+r.URL.Path)
		g.mu.Unlock()
		w.WriteHeader(401)
		return
	}
	body, _ := io.ReadAll(r.Body)
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/runner/"), "/")
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.URL.Path == runners.PathHeartbeat:
		var hb runners.Heartbeat
		json.Unmarshal(body, &hb)
		g.hbs = append(g.hbs, hb)
		ids := []string{}
		for id := range g.cancelHB {
			ids = append(ids, id)
		}
		json.NewEncoder(w).Encode(runners.HeartbeatResponse{HeartbeatIntervalSeconds: 1, ServerTime: time.Now(), CancelJobIDs: ids})
	case r.URL.Path == runners.PathClaim:
		if r.Method != http.MethodPost || r.URL.Query().Get(runners.QueryWait) == "" {
			g.bad = append(g.bad, "claim "+r.URL.String())
		}
		g.events = append(g.events, "claim")
		claimID := r.Header.Get(runners.HeaderClaimID)
		g.claimIDs = append(g.claimIDs, claimID)
		var cb runners.ClaimBody
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cb); err != nil {
			g.bad = append(g.bad, "claim body "+err.Error())
		}
		if d := cb.Complete; d != nil { // a result riding on the claim, as the Hub takes it
			g.resultClaims++
			if g.refuseResultClaims {
				w.WriteHeader(http.StatusUpgradeRequired)
				io.WriteString(w, `{"error":{"code":"upgrade_required","message":"test"}}`)
				return
			}
			if !g.complete(w, d.JobID, runners.CompleteBody{Status: d.Status, ExitCode: d.ExitCode, Error: d.Error, Attempt: d.Attempt, Lines: d.Lines}) {
				return
			}
		}
		if job, ok := g.handedOut[claimID]; ok {
			delete(g.handedOut, claimID)
			json.NewEncoder(w).Encode(job)
			return
		}
		if len(g.queue) == 0 {
			g.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			g.mu.Lock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		job := g.queue[0]
		g.queue = g.queue[1:]
		if r.Header.Get(runners.HeaderClaimStart) != "true" {
			g.bad = append(g.bad, "the agent's claim did not ask to take its job up")
		}
		job.Status = g.status
		if g.loseClaims > 0 {
			g.loseClaims--
			g.handedOut[claimID] = job
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(job)
	case parts[0] == "packages" && len(parts) == 3 && r.Method == http.MethodGet:
		g.events = append(g.events, "download "+parts[1])
		data, ok := g.pkgs[parts[1]+"/"+parts[2]]
		if !ok {
			w.WriteHeader(404)
			return
		}
		w.Write(data)
	case parts[0] == "jobs" && len(parts) == 3 && parts[2] == "logs":
		var lb runners.LogsBody
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&lb); err != nil {
			g.bad = append(g.bad, "logs body "+err.Error())
		}
		key := parts[1] + "/" + itoa(lb.Attempt)
		if len(lb.Lines) == 0 { // the agent takes the job up
			g.events = append(g.events, "take-up "+key)
			if g.refuseTakeUp {
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"error":{"code":"conflict","message":"attempt 1 of this job is over"}}`)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		g.logs[key] = append(g.logs[key], lb.Lines...)
		g.batches[key] = append(g.batches[key], len(lb.Lines))
		if g.cancelLog[parts[1]] {
			w.Header().Set(runners.HeaderCancelRequested, "true") // as the Hub says it: 204 with the header
		}
		w.WriteHeader(http.StatusNoContent)
	case parts[0] == "jobs" && len(parts) == 3 && parts[2] == "assets" && r.Method == http.MethodGet:
		key := parts[1] + "/" + r.URL.Query().Get(runners.QueryAssetsAttempt)
		g.events = append(g.events, "assets "+key)
		if g.assetsUnavailable > 0 {
			g.assetsUnavailable--
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":"unavailable","message":"the asset key file is missing"}}`)
			return
		}
		if f := g.assetsRefusal; f != nil {
			w.WriteHeader(f.status)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": f.code, "message": f.message}})
			return
		}
		items := g.assets[parts[1]]
		if items == nil {
			items = []runners.AgentAsset{}
		}
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(runners.AgentAssets{Items: items})
	case parts[0] == "jobs" && len(parts) == 3 && parts[2] == "complete":
		var cb runners.CompleteBody
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cb); err != nil {
			g.bad = append(g.bad, "complete body "+err.Error())
		}
		g.alone = append(g.alone, parts[1])
		if g.complete(w, parts[1], cb) {
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		g.bad = append(g.bad, r.Method+" "+r.URL.Path)
		w.WriteHeader(404)
	}
}

// complete records a job's result (false: refused with completeStatus,
// the answer written).
func (g *gateway) complete(w http.ResponseWriter, id string, cb runners.CompleteBody) bool {
	g.events = append(g.events, "complete "+id+"/"+itoa(cb.Attempt))
	if g.completeStatus != 0 {
		w.WriteHeader(g.completeStatus)
		io.WriteString(w, `{"error":{"code":"unavailable","message":"test"}}`)
		return false
	}
	g.completes = append(g.completes, completion{id, cb})
	return true
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// publish stores a package and returns its reference.
func (g *gateway) publish(name, version string, data []byte) runners.PackageRef {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pkgs[name+"/"+version] = data
	sum := sha256.Sum256(data)
	return runners.PackageRef{Name: name, Version: version, SHA256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(data))}
}

func (g *gateway) enqueue(jobs ...claimedJob) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = append(g.queue, jobs...)
}

func (g *gateway) completion(id string) (runners.CompleteBody, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.completes {
		if c.id == id {
			return c.body, true
		}
	}
	return runners.CompleteBody{}, false
}

func (g *gateway) snapshot() (events []string, completes []completion, logs map[string][]logLine) {
	g.mu.Lock()
	defer g.mu.Unlock()
	logs = map[string][]logLine{}
	for k, v := range g.logs {
		logs[k] = append([]logLine(nil), v...)
	}
	return append([]string(nil), g.events...), append([]completion(nil), g.completes...), logs
}

// zipOf builds a package zip; names ending in ".sh" are executable.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// scriptPackage is a package running script with sh.
func scriptPackage(t *testing.T, script string) []byte {
	return zipOf(t, map[string]string{
		"exekra.json": `{"name":"demo","version":"1.0.0","entrypoint":["./run.sh"]}`,
		"run.sh":      "#!/bin/sh\n" + script,
	})
}

// runningAgent is an agent running against g until the test ends or stop.
type runningAgent struct {
	agent *Agent
	logs  *syncBuffer
	stop  func() error
}

func startAgent(t *testing.T, g *gateway, stateDir string, opts ...func(*Agent)) *runningAgent {
	t.Helper()
	cfg := Config{Hub: g.srv.URL, ID: testID, Fingerprint: fingerprint(g.srv), MaxJobs: 1, StateDir: stateDir,
		SecretFile: writeFile(t, "secret", testSecret+"\n", 0o600), WorkDir: t.TempDir()}
	logs := &syncBuffer{}
	a, err := New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	a.random = func() float64 { return 0.2 }
	a.jobs.claimWait = time.Second
	a.jobs.killGrace = time.Second
	a.jobs.flushEvery = 100 * time.Millisecond
	for _, o := range opts {
		o(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				t.Error("the agent did not stop")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		stop()
		if bytes.Contains(logs.Bytes(), []byte(testSecret)) {
			t.Error("the secret is in the log")
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if len(g.bad) > 0 {
			t.Errorf("protocol violations: %v", g.bad)
		}
	})
	return &runningAgent{agent: a, logs: logs, stop: stop}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCompletion waits for id's completion.
func (g *gateway) waitCompletion(t *testing.T, id string, d time.Duration) runners.CompleteBody {
	t.Helper()
	var cb runners.CompleteBody
	waitFor(t, d, "the completion of "+id, func() bool {
		var ok bool
		cb, ok = g.completion(id)
		return ok
	})
	return cb
}
