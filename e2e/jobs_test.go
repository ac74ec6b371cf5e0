package e2e

import (
	"archive/zip"
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// packageZip builds a package whose entrypoint prints its parameter.
func packageZip(t *testing.T, name, version, script string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := map[string]string{
		"exekra.json": `{"name":"` + name + `","version":"` + version + `","entrypoint":["/bin/sh","run.sh"]}`,
		"run.sh":      script,
	}
	for n, body := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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
	// A service that is down answers 503; a client tries again, as the API says.
	var out map[string]any
	waitFor(t, 30*time.Second, "the job accepted", func() bool {
		status, o := h.as(tok).call("POST", "/api/v1/jobs", body)
		if status != http.StatusCreated && status != http.StatusServiceUnavailable {
			t.Fatalf("POST /api/v1/jobs = %d %v", status, o)
		}
		out = o
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
