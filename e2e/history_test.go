package e2e

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// TestHistoryContract drives the history routes a console reads — a job's
// attempt history and runner names, its re-run, a runner's metrics by the
// minute and the dashboard's figures — so that the contract check sees
// each answer held against the served document.
func TestHistoryContract(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	admin := h.as(adminTok)
	if code, raw := publish(t, h, adminTok, packageZip(t, "hist", "1.0.0", "echo hi\n")); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	id, secret := registerRunner(t, h, adminTok, "history-runner")
	runner := h.as("").with("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret))).
		with(runners.HeaderProtocol, runners.ProtocolVersion).with(runners.HeaderUserAgent, runners.UserAgentPrefix+"e2e")
	heartbeat := map[string]any{"version": "e2e", "os": "linux", "hostname": "history", "running_job_ids": []string{},
		"metrics": map[string]any{"cpu_percent": 12.5, "memory_percent": 40, "disk_free_bytes": 1 << 30}}
	runner.must(http.StatusOK, "POST", runners.PathHeartbeat, heartbeat)

	job := admin.must(http.StatusCreated, "POST", "/api/v1/jobs",
		map[string]any{"package": "hist", "environment": "Development", "runner_id": id, "parameters": map[string]string{"who": "history"}})
	jid := job["id"].(string)
	if job["runner_name"] != "history-runner" || job["target_runner_name"] != "history-runner" {
		t.Fatalf("new job's runner names: %v", job)
	}
	claimed := runner.must(http.StatusOK, "POST", runners.ClaimPath(10*time.Second), nil)
	runner.must(http.StatusNoContent, "POST", runners.JobCompletePath(jid), map[string]any{"attempt": claimed["attempt"], "status": "succeeded", "exit_code": 0})

	t.Run("a job shows its attempts, its runner's name and its duration", func(t *testing.T) {
		j := admin.must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil)
		hist, _ := j["attempt_history"].([]any)
		if len(hist) != 1 || j["duration_seconds"] == nil || j["runner_name"] != "history-runner" {
			t.Fatalf("job %v", j)
		}
		if a := hist[0].(map[string]any); a["outcome"] != "succeeded" || a["runner_name"] != "history-runner" || a["number"] != float64(1) {
			t.Fatalf("attempt %v", a)
		}
	})
	t.Run("a re-run starts a like job, once per Idempotency-Key", func(t *testing.T) {
		again := admin.with(runners.HeaderIdempotencyKey, "rerun-1").must(http.StatusCreated, "POST", "/api/v1/jobs/"+jid+"/rerun", nil)
		if again["rerun_of"] != jid || again["id"] == jid || again["package"] != "hist" {
			t.Fatalf("re-run %v", again)
		}
		if twice := admin.with(runners.HeaderIdempotencyKey, "rerun-1").must(http.StatusCreated, "POST", "/api/v1/jobs/"+jid+"/rerun", nil); twice["id"] != again["id"] {
			t.Fatalf("a repeat started %v, not %v", twice["id"], again["id"])
		}
		if code := errCode(admin.must(http.StatusNotFound, "POST", "/api/v1/jobs/00000000-0000-4000-8000-000000000000/rerun", nil)); code != "not_found" {
			t.Fatalf("re-run of no job: %s", code)
		}
	})
	t.Run("a runner's metrics by the minute", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second) // the presence flush writes them within seconds
		for {
			m := admin.must(http.StatusOK, "GET", "/api/v1/runners/"+id+"/metrics?hours=1", nil)
			if points, _ := m["points"].([]any); len(points) > 0 {
				if p := points[0].(map[string]any); p["cpu_percent_max"] != 12.5 {
					t.Fatalf("point %v", p)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no metrics: %v", m)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if code := errCode(admin.must(http.StatusBadRequest, "GET", "/api/v1/runners/"+id+"/metrics?hours=25", nil)); code != "invalid_argument" {
			t.Fatalf("hours=25: %s", code)
		}
	})
	t.Run("the dashboard's figures", func(t *testing.T) {
		s := admin.must(http.StatusOK, "GET", "/api/v1/stats/dashboard?hours=1", nil)
		finished, _ := s["jobs_finished"].([]any)
		waiting, _ := s["jobs_waiting"].([]any)
		pickup, _ := s["pickup_latency"].([]any)
		if len(finished) != 1 || len(waiting) != 3 || len(pickup) != 1 {
			t.Fatalf("stats %v", s)
		}
		if code := errCode(admin.must(http.StatusBadRequest, "GET", "/api/v1/stats/dashboard?hours=49", nil)); code != "invalid_argument" {
			t.Fatalf("hours=49: %s", code)
		}
	})
}
