package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// TestRunnerProtocolContract drives every route of the runner protocol from
// the test, as the agent would, so that the contract check sees each
// request and answer (the agent's own requests it cannot see): heartbeat,
// claims that get nothing and a job, the package download, log uploads with
// the cancel header, completion, and the refusals.
func TestRunnerProtocolContract(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	admin := h.as(adminTok)
	if code, raw := publish(t, h, adminTok, packageZip(t, "proto", "1.0.0", "echo hi\n")); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	id, secret := registerRunner(t, h, adminTok, "protocol-runner")
	otherID, otherSecret := registerRunner(t, h, adminTok, "other-runner")
	as := func(id, secret string) *api {
		return h.as("").with("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret))).
			with(runners.HeaderProtocol, runners.ProtocolVersion).with(runners.HeaderUserAgent, runners.UserAgentPrefix+"e2e")
	}
	runner, other := as(id, secret), as(otherID, otherSecret)
	heartbeat := map[string]any{"version": "e2e", "os": "linux", "hostname": "protocol", "running_job_ids": []string{},
		"metrics": map[string]any{"cpu_percent": 1.5, "memory_percent": 20, "disk_free_bytes": 1 << 30}}

	hb := runner.must(http.StatusOK, "POST", runners.PathHeartbeat, heartbeat)
	if hb["heartbeat_interval_seconds"].(float64) <= 0 {
		t.Fatalf("heartbeat answer %v", hb)
	}
	other.must(http.StatusOK, "POST", runners.PathHeartbeat, heartbeat)
	if r := admin.must(http.StatusOK, "GET", runners.RunnerPath(id), nil); r["version"] != "e2e" || r["status"] != "online" {
		t.Fatalf("runner after its heartbeat: %v", r)
	}
	runner.with(runners.HeaderClaimID, "claim-empty").must(http.StatusNoContent, "POST", runners.ClaimPath(0), nil)

	job := admin.with(runners.HeaderIdempotencyKey, "protocol-1").must(http.StatusCreated, "POST", "/api/v1/jobs",
		map[string]any{"package": "proto", "environment": "Development", "runner_id": id, "parameters": map[string]string{"who": "protocol"}})
	jid := job["id"].(string)
	if again := admin.with(runners.HeaderIdempotencyKey, "protocol-1").must(http.StatusCreated, "POST", "/api/v1/jobs",
		map[string]any{"package": "proto", "environment": "Development", "runner_id": id, "parameters": map[string]string{"who": "protocol"}}); again["id"] != jid {
		t.Fatalf("a repeat under the same Idempotency-Key started job %v, not %s", again["id"], jid)
	}
	claimed := runner.with(runners.HeaderClaimID, "claim-1").must(http.StatusOK, "POST", runners.ClaimPath(10*time.Second), nil)
	if claimed["id"] != jid {
		t.Fatalf("claimed %v, want job %s", claimed, jid)
	}
	attempt := claimed["attempt"]

	t.Run("the package of a held job downloads", func(t *testing.T) {
		status, header, zip, err := runner.exchange("GET", runners.PackagePath("proto", "1.0.0"), nil)
		if err != nil || status != http.StatusOK || !bytes.HasPrefix(zip, []byte("PK")) || header.Get("Exekra-Package-Sha256") == "" {
			t.Fatalf("download = %d %v %q, %v", status, header, tail(string(zip), 100), err)
		}
		if code := errCode(other.must(http.StatusForbidden, "GET", runners.PackagePath("proto", "1.0.0"), nil)); code != "permission_denied" {
			t.Fatalf("a runner without a job of it: %s", code)
		}
	})

	t.Run("log lines upload and renew the lease; a cancel is said on the next upload", func(t *testing.T) {
		lines := map[string]any{"attempt": attempt, "lines": []map[string]any{
			{"ts": time.Now().UTC().Format(time.RFC3339Nano), "stream": "stdout", "message": "hello protocol"},
			{"stream": "stderr", "message": "no timestamp"}}}
		status, header, _, _ := runner.exchange("POST", runners.JobLogsPath(jid), lines)
		if status != http.StatusNoContent || header.Get(runners.HeaderCancelRequested) != "" {
			t.Fatalf("upload = %d %v", status, header)
		}
		if j := admin.must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil); j["status"] != "running" {
			t.Fatalf("job after the first upload: %v", j)
		}
		if code := errCode(other.must(http.StatusForbidden, "POST", runners.JobLogsPath(jid), map[string]any{"lines": []any{}})); code != "permission_denied" {
			t.Fatalf("another runner's upload: %s", code)
		}
		admin.must(http.StatusOK, "POST", "/api/v1/jobs/"+jid+"/cancel", nil)
		status, header, _, _ = runner.exchange("POST", runners.JobLogsPath(jid), map[string]any{"attempt": attempt, "lines": []any{}})
		if status != http.StatusNoContent || header.Get(runners.HeaderCancelRequested) != "true" {
			t.Fatalf("upload after cancel = %d, %s %q", status, runners.HeaderCancelRequested, header.Get(runners.HeaderCancelRequested))
		}
		hb := runner.must(http.StatusOK, "POST", runners.PathHeartbeat, map[string]any{"version": "e2e", "os": "linux", "hostname": "protocol",
			"running_job_ids": []string{jid}, "metrics": heartbeat["metrics"]})
		if ids, _ := hb["cancel_job_ids"].([]any); len(ids) != 1 || ids[0] != jid {
			t.Fatalf("heartbeat after cancel: %v", hb)
		}
	})

	t.Run("completion, then the job is finished for good", func(t *testing.T) {
		runner.must(http.StatusNoContent, "POST", runners.JobCompletePath(jid), map[string]any{"attempt": attempt, "status": "canceled", "exit_code": nil, "error": "stopped"})
		if code := errCode(runner.must(http.StatusConflict, "POST", runners.JobLogsPath(jid), map[string]any{"lines": []any{}})); code != "conflict" {
			t.Fatalf("an upload after completion: %s", code)
		}
		if code := errCode(runner.must(http.StatusConflict, "POST", runners.JobLogsPath(jid), map[string]any{"attempt": 99, "lines": []any{}})); code != "conflict" {
			t.Fatalf("an upload of an attempt that is over: %s", code)
		}
		logs := admin.must(http.StatusOK, "GET", "/api/v1/jobs/"+jid+"/logs?after=0", nil)
		if got := logs["lines"].([]any); len(got) != 2 || got[0].(map[string]any)["message"] != "hello protocol" {
			t.Fatalf("logs %v", logs)
		}
		if j := admin.must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil); j["status"] != "canceled" || j["error"] != "stopped" {
			t.Fatalf("job %v", j)
		}
	})

	t.Run("refusals are the documented errors", func(t *testing.T) {
		bad := as(id, "exk_ms_wrong")
		if code := errCode(bad.must(http.StatusUnauthorized, "POST", runners.PathHeartbeat, heartbeat)); code != "invalid_credentials" {
			t.Fatalf("a wrong secret: %s", code)
		}
		status, header, _, _ := h.as("").exchange("POST", runners.ClaimPath(0), nil)
		if status != http.StatusUnauthorized || !strings.HasPrefix(header.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("a claim without credentials = %d %v", status, header)
		}
		if code := errCode(runner.with(runners.HeaderProtocol, "2").must(http.StatusBadRequest, "POST", runners.PathHeartbeat, heartbeat)); code != "invalid_argument" {
			t.Fatalf("protocol 2: %s", code)
		}
		if code := errCode(runner.must(http.StatusBadRequest, "POST", runners.PathClaim+"?wait=61", nil)); code != "invalid_argument" {
			t.Fatalf("a wait over the limit: %s", code)
		}
		if code := errCode(runner.must(http.StatusBadRequest, "POST", runners.JobCompletePath(jid), map[string]any{"status": "exploded"})); code != "invalid_argument" {
			t.Fatalf("an unknown outcome: %s", code)
		}
		status, _, _, _ = runner.exchange("POST", runners.JobLogsPath("00000000-0000-4000-8000-000000000000"), map[string]any{"lines": []any{}})
		if status != http.StatusNotFound && status != http.StatusForbidden {
			t.Fatalf("an upload for no job = %d", status)
		}
	})
}
