package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/redisdb"
)

// packageZip builds a package whose entrypoint prints its parameter.
func packageZip(t *testing.T, name, version, script string) []byte {
	t.Helper()
	return zipOf(t, map[string]string{
		"exekra.json": `{"name":"` + name + `","version":"` + version + `","entrypoint":["/bin/sh","run.sh"]}`,
		"run.sh":      script,
	})
}

// publish uploads a package as multipart file "package".
func publish(t *testing.T, h *hub, token string, zipBytes []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("package", "package.zip")
	fw.Write(zipBytes)
	mw.Close()
	req, _ := http.NewRequest("POST", h.gateway+"/api/v1/packages", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// waitJob polls a job until it has finished and returns it.
func waitJob(t *testing.T, h *hub, tok, id string, within time.Duration) map[string]any {
	t.Helper()
	var job map[string]any
	waitFor(t, within, "job "+id+" to finish", func() bool {
		job = h.as(tok).must(http.StatusOK, "GET", "/api/v1/jobs/"+id, nil)
		s := job["status"]
		return s == "succeeded" || s == "failed" || s == "canceled"
	})
	return job
}

func startJob(t *testing.T, h *hub, tok, pkg string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"package": pkg, "environment": "Development"}
	for k, v := range extra {
		body[k] = v
	}
	// A service or gateway that is down answers 503 or nothing; the client
	// sends the start again under the same Idempotency-Key, so a start whose
	// reply was lost returns its job instead of starting a second one.
	var out map[string]any
	a := h.as(tok).with("Idempotency-Key", rand.Text())
	waitFor(t, 60*time.Second, "the job accepted", func() bool {
		status, raw, err := a.try("POST", "/api/v1/jobs", body)
		if err != nil {
			return false
		}
		out = nil
		json.Unmarshal(raw, &out)
		if status != http.StatusCreated && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
			t.Fatalf("POST /api/v1/jobs = %d %s", status, raw)
		}
		return status == http.StatusCreated
	})
	return out["id"].(string)
}

// TestJobs publishes a package, starts jobs and has real agents run them,
// including a job whose agent is killed mid-job.
func TestJobs(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	id, secret := registerRunner(t, h, adminTok, "job-runner")
	first := startAgent(t, h, id, secret)
	waitFor(t, 30*time.Second, "the agent online", func() bool { return runnerStatus(t, h, adminTok, id) == "online" })

	script := "read params\necho \"hello $EXEKRA_PARAM_WHO\"\necho \"stdin: $params\"\n"
	if code, raw := publish(t, h, adminTok, packageZip(t, "hello", "1.0.0", script)); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	if code, _ := publish(t, h, adminTok, packageZip(t, "hello", "1.0.0", script)); code != http.StatusConflict {
		t.Fatalf("publishing the same version again = %d, want 409", code)
	}
	job := h.as(adminTok).must(http.StatusCreated, "POST", "/api/v1/jobs",
		map[string]any{"package": "hello", "environment": "Development", "parameters": map[string]string{"who": "world"}})
	jid := job["id"].(string)
	var final map[string]any
	waitFor(t, 60*time.Second, "the job to finish", func() bool {
		final = h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil)
		s := final["status"]
		return s == "succeeded" || s == "failed" || s == "canceled"
	})
	if final["status"] != "succeeded" || final["exit_code"] != float64(0) {
		t.Fatalf("job ended %v", final)
	}
	logs := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+jid+"/logs?after=0", nil)
	var text strings.Builder
	for _, l := range logs["lines"].([]any) {
		text.WriteString(l.(map[string]any)["message"].(string) + "\n")
	}
	if !strings.Contains(text.String(), "hello world") || !strings.Contains(text.String(), `"who":"world"`) {
		t.Fatalf("job logs:\n%s", text.String())
	}
	publish(t, h, adminTok, packageZip(t, "flaky", "1.0.0", "if [ \"$EXEKRA_JOB_ATTEMPT\" = 1 ]; then echo first; sleep 600; fi\necho done\n"))

	t.Run("a job whose agent is killed mid-job is finished by another runner", func(t *testing.T) {
		jid := startJob(t, h, adminTok, "flaky", map[string]any{"max_attempts": 2})
		waitFor(t, 30*time.Second, "the job running", func() bool {
			return h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil)["status"] == "running"
		})
		first.cmd.Process.Kill() // SIGKILL: no goodbye, the lease must run out
		id2, secret2 := registerRunner(t, h, adminTok, "second-runner")
		startAgent(t, h, id2, secret2)
		job := waitJob(t, h, adminTok, jid, 150*time.Second)
		if job["status"] != "succeeded" || job["attempts"] != float64(2) || job["runner_id"] != id2 {
			t.Fatalf("job after its runner died: %v", job)
		}
	})
}

// ledgerScript is a package that appends "<job id> <attempt>" to the file
// its ledger parameter names: the ledger shows every run of every job.
const ledgerScript = "echo \"$EXEKRA_JOB_ID $EXEKRA_JOB_ATTEMPT\" >> \"$EXEKRA_PARAM_LEDGER\"\necho ran\n"

// wantRunOnce checks that every job succeeded and ran exactly once.
func wantRunOnce(t *testing.T, h *hub, tok, ledger string, ids []string, within time.Duration) {
	t.Helper()
	for _, id := range ids {
		if j := waitJob(t, h, tok, id, within); j["status"] != "succeeded" {
			t.Fatalf("job %s ended %v", id, j)
		}
	}
	raw, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		runs[strings.Fields(line)[0]]++
	}
	for _, id := range ids {
		if runs[id] != 1 {
			t.Fatalf("job %s ran %d times", id, runs[id])
		}
		delete(runs, id)
	}
	if len(runs) != 0 {
		t.Fatalf("runs of jobs nobody started: %v", runs)
	}
}

// redisCommand logs in to the pilot's Redis as its admin user (the only one
// that may FLUSHALL), sends one command and returns its first reply line.
func redisCommand(t *testing.T, h *hub, args ...string) string {
	t.Helper()
	password, err := redisdb.Password(filepath.Join(h.home, "var", "credentials"), redisdb.Admin)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", h.env["EXEKRA_REDIS_LISTEN"], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var line string
	for _, cmd := range [][]string{{"AUTH", string(redisdb.Admin), password}, args} {
		fmt.Fprintf(conn, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(conn, "$%d\r\n%s\r\n", len(a), a)
		}
		if line, err = r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	return strings.TrimSpace(line)
}

// TestJobFaults: Redis flushed and restarted with 200 jobs queued, and the
// runners service killed mid-burst — every job still runs, exactly once,
// on real agents.
func TestJobFaults(t *testing.T) {
	v := newVendor(t)
	h, tok := licensedHub(t, v)
	if code, raw := publish(t, h, tok, packageZip(t, "ledger", "1.0.0", ledgerScript)); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	ledger := filepath.Join(t.TempDir(), "ledger")
	params := map[string]any{"parameters": map[string]string{"ledger": ledger}}
	startMany := func(n int, during func(i int)) []string {
		ids := make([]string, n)
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Go(func() {
				for i := range next {
					ids[i] = startJob(t, h, tok, "ledger", params)
				}
			})
		}
		for i := range n {
			during(i)
			next <- i
		}
		close(next)
		wg.Wait()
		return ids
	}

	agents := make([]*agent, 3)
	for i := range agents {
		id, secret := registerRunner(t, h, tok, fmt.Sprintf("fault-runner-%d", i))
		agents[i] = startAgent(t, h, id, secret, "--max-jobs", "4")
	}
	var all []string
	t.Run("Redis flushed and then restarted with 200 jobs queued: all run exactly once", func(t *testing.T) {
		for _, a := range agents {
			a.cmd.Process.Signal(syscall.SIGSTOP) // the jobs stay queued
		}
		queued := startMany(200, func(int) {})
		if got := redisCommand(t, h, "FLUSHALL"); got != "+OK" {
			t.Fatalf("FLUSHALL = %q", got)
		}
		for _, a := range agents {
			a.cmd.Process.Signal(syscall.SIGCONT)
		}
		waitFor(t, 60*time.Second, "some jobs run", func() bool {
			raw, _ := os.ReadFile(ledger)
			return strings.Count(string(raw), "\n") >= 40
		})
		h.killProcess(t, "redis-server")
		all = append(all, queued...)
		wantRunOnce(t, h, tok, ledger, all, 120*time.Second)
	})

	t.Run("the runners service killed mid-burst: no job lost, none run twice", func(t *testing.T) {
		ids := startMany(40, func(i int) {
			if i == 15 {
				h.killProcess(t, "exekra-runners")
			}
		})
		all = append(all, ids...)
		wantRunOnce(t, h, tok, ledger, all, 120*time.Second)
		page := h.as(tok).must(http.StatusOK, "GET", "/api/v1/jobs?limit=500", nil)
		if n := len(page["items"].([]any)); n != len(all) {
			t.Fatalf("%d jobs recorded, %d started", n, len(all))
		}
	})

	t.Run("an agent killed while it waits in a claim: its job goes to another runner, no attempt spent", func(t *testing.T) {
		for _, a := range agents[1:] {
			a.cmd.Process.Signal(syscall.SIGSTOP) // only agents[0] waits
		}
		defer func() {
			for _, a := range agents[1:] {
				a.cmd.Process.Signal(syscall.SIGCONT)
			}
		}()
		time.Sleep(2 * time.Second) // agents[0] is in its long poll
		agents[0].cmd.Process.Kill()
		id := startJob(t, h, tok, "ledger", params)
		for _, a := range agents[1:] {
			a.cmd.Process.Signal(syscall.SIGCONT)
		}
		all = append(all, id)
		wantRunOnce(t, h, tok, ledger, all, 90*time.Second)
		if j := h.as(tok).must(http.StatusOK, "GET", "/api/v1/jobs/"+id, nil); j["attempts"] != float64(1) {
			t.Fatalf("job %v", j)
		}
	})
}

// TestJobsAfterGatewayKill kills the gateway with SIGKILL while two agents
// wait in claim long polls, then starts a job once the supervisor has brought
// the gateway back. The runners service still holds the dead gateway's
// claims; a job one of them takes is handed to the agent's retry of that
// claim (same claim id), so it runs at once instead of waiting out the pickup.
func TestJobsAfterGatewayKill(t *testing.T) {
	v := newVendor(t)
	h, tok := licensedHub(t, v)
	if code, raw := publish(t, h, tok, packageZip(t, "quick", "1.0.0", "echo quick\n")); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	for i := range 2 {
		id, secret := registerRunner(t, h, tok, fmt.Sprintf("waiting-%d", i))
		startAgent(t, h, id, secret)
	}
	// A warm-up job proves the agents claim; then both are back in a long poll.
	if job := waitJob(t, h, tok, startJob(t, h, tok, "quick", nil), 30*time.Second); job["status"] != "succeeded" {
		t.Fatalf("warm-up job: %v", job)
	}
	time.Sleep(2 * time.Second)
	old := h.pidOf("exekra-gateway")
	killed := time.Now()
	h.killProcess(t, "exekra-gateway")
	waitFor(t, 30*time.Second, "the supervisor to start another gateway", func() bool {
		pid := h.pidOf("exekra-gateway")
		return pid != 0 && pid != old
	})
	h.waitHealth(http.StatusOK, 30*time.Second, allUp)
	created := time.Now()
	job := waitJob(t, h, tok, startJob(t, h, tok, "quick", nil), 60*time.Second)
	took := time.Since(created)
	t.Logf("job created %.1fs after the gateway was killed, finished %.1fs later (attempts %v)",
		created.Sub(killed).Seconds(), took.Seconds(), job["attempts"])
	if job["status"] != "succeeded" || job["attempts"] != float64(1) {
		t.Fatalf("job after the gateway was killed: %v", job)
	}
	if took > 15*time.Second { // not left to the 30 s pickup
		t.Errorf("the job took %s to finish with two agents waiting", took.Round(100*time.Millisecond))
	}
}
