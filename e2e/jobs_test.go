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

// TestJobs publishes a package, starts a job and has a real agent run it.
func TestJobs(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	id, secret := registerRunner(t, h, adminTok, "job-runner")
	startAgent(t, h, id, secret)
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
}
