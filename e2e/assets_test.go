package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// assetsScript prints every way the job's process receives its assets: the
// environment variables, the assets file (and its mode), so that the test can
// check what the uploaded log shows.
const assetsScript = `echo "user=$EXEKRA_ASSET_SAP_LOGIN_USERNAME"
echo "password=$EXEKRA_ASSET_SAP_LOGIN_PASSWORD"
echo "token=$EXEKRA_ASSET_API_TOKEN"
echo "retries=$EXEKRA_ASSET_RETRIES"
echo "file=$EXEKRA_ASSETS_FILE"
echo "mode=$(stat -c %a "$EXEKRA_ASSETS_FILE")"
cat "$EXEKRA_ASSETS_FILE"; echo
env | grep '^EXEKRA_ASSET' | sort
`

// assetsPackage declares the three assets assetsScript prints.
func assetsPackage(t *testing.T, name, version string) []byte {
	t.Helper()
	return zipOf(t, map[string]string{
		"exekra.json": `{"name":"` + name + `","version":"` + version + `","entrypoint":["/bin/sh","run.sh"],"assets":["sap_login","api_token","retries"]}`,
		"run.sh":      assetsScript,
	})
}

// runnerGet is a GET on a runner route as runner id.
func runnerGet(t *testing.T, gateway, path, id, secret string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", gateway+path, nil)
	req.SetBasicAuth(id, secret)
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// jobLog is the whole log of a job, as its lines' messages.
func jobLog(t *testing.T, h *hub, tok, id string) string {
	t.Helper()
	logs := h.as(tok).must(http.StatusOK, "GET", "/api/v1/jobs/"+id+"/logs", nil)
	lines, _ := logs["lines"].([]any)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.(map[string]any)["message"].(string))
		b.WriteByte('\n')
	}
	return b.String()
}

// TestAssets drives credential assets end to end on a pilot: values set by a
// DEVELOPER, write-only for every person, handed to a job whose package
// declares them and masked in its log, refused to runners that do not hold
// the job, refused up front when one is missing, untouched by a key rotation
// while jobs run, absent in plain text from every log file, the audit export
// and a backup; and a backup restores only with the key file kept apart.
func TestAssets(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	_, devTok := user(t, h, adminTok, "dev@acme.test", "DEVELOPER")
	_, opTok := user(t, h, adminTok, "ops@acme.test", "OPERATOR")
	id, secret := registerRunner(t, h, adminTok, "assets-runner")
	idle, idleSecret := registerRunner(t, h, adminTok, "assets-idle")
	a := startAgent(t, h, id, secret)
	waitFor(t, 30*time.Second, "the agent online", func() bool { return runnerStatus(t, h, adminTok, id) == "online" })

	username := "robot-" + strings.ToLower(rand.Text()[:10])
	password := "pw-" + rand.Text()
	token := "tok-" + rand.Text()
	plain := []string{username, password, token}
	h.as(devTok).must(http.StatusCreated, "POST", "/api/v1/assets", map[string]any{"name": "sap_login", "type": "credential",
		"description": "SAP robot account", "value": map[string]string{"username": username, "password": password}})
	h.as(devTok).must(http.StatusCreated, "POST", "/api/v1/assets", map[string]any{"name": "api_token", "type": "secret", "value": "placeholder-" + rand.Text()})
	h.as(devTok).must(http.StatusOK, "PUT", "/api/v1/assets/api_token/values/environments/development", map[string]any{"value": token})
	h.as(devTok).must(http.StatusCreated, "POST", "/api/v1/assets", map[string]any{"name": "retries", "type": "integer", "value": 3})
	if code, _ := h.as(opTok).call("POST", "/api/v1/assets", map[string]any{"name": "op_made", "type": "text", "value": "x"}); code != http.StatusForbidden {
		t.Fatalf("an OPERATOR creating an asset = %d, want 403", code)
	}
	if code, raw := publish(t, h, devTok, assetsPackage(t, "creds", "1.0.0")); code != http.StatusCreated {
		t.Fatalf("publish creds = %d %s", code, raw)
	}
	if code, raw := publish(t, h, devTok, zipOf(t, map[string]string{
		"exekra.json": `{"name":"needy","version":"1.0.0","entrypoint":["/bin/sh","run.sh"],"assets":["nowhere_set"]}`, "run.sh": "echo never\n"})); code != http.StatusCreated {
		t.Fatalf("publish needy = %d %s", code, raw)
	}
	if code, raw := publish(t, h, devTok, packageZip(t, "plain", "1.0.0", "sleep 4; echo plain done\n")); code != http.StatusCreated {
		t.Fatalf("publish plain = %d %s", code, raw)
	}

	t.Run("nobody reads a credential or secret value back", func(t *testing.T) {
		for _, tok := range []string{opTok, devTok, adminTok} {
			for _, p := range []string{"/api/v1/assets", "/api/v1/assets/sap_login", "/api/v1/assets/api_token", "/api/v1/assets?type=credential"} {
				code, raw := h.as(tok).raw("GET", p, nil)
				if code != http.StatusOK {
					t.Fatalf("GET %s = %d %s", p, code, raw)
				}
				for _, s := range plain {
					if bytes.Contains(raw, []byte(s)) {
						t.Fatalf("GET %s shows a write-only value: %s", p, raw)
					}
				}
			}
		}
		got := h.as(opTok).must(http.StatusOK, "GET", "/api/v1/assets/retries", nil)
		values, _ := got["values"].([]any)
		if len(values) != 1 || values[0].(map[string]any)["value"] != float64(3) {
			t.Fatalf("an integer asset's value is shown to people: %v", got)
		}
	})

	var credsJob string
	t.Run("a job gets its assets, its log shows the mask", func(t *testing.T) {
		credsJob = startJob(t, h, opTok, "creds", nil)
		if j := waitJob(t, h, opTok, credsJob, 60*time.Second); j["status"] != "succeeded" {
			t.Fatalf("creds job: %v\n%s", j, jobLog(t, h, opTok, credsJob))
		}
		log := jobLog(t, h, opTok, credsJob)
		for _, s := range plain {
			if strings.Contains(log, s) {
				t.Fatalf("the job log shows a value in plain text:\n%s", log)
			}
		}
		for _, want := range []string{"user=***", "password=***", "token=***", "retries=3", "mode=600",
			"EXEKRA_ASSET_SAP_LOGIN_PASSWORD=***", "EXEKRA_ASSET_API_TOKEN=***"} {
			if !strings.Contains(log, want) {
				t.Fatalf("the job log lacks %q:\n%s", want, log)
			}
		}
		var file string
		for _, l := range strings.Split(log, "\n") {
			if f, ok := strings.CutPrefix(l, "file="); ok {
				file = f
			}
		}
		if !filepath.IsAbs(file) {
			t.Fatalf("EXEKRA_ASSETS_FILE is %q", file)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Fatalf("the assets file %s is still there after the job: %v", file, err)
		}
	})

	t.Run("a missing asset refuses the start, naming it", func(t *testing.T) {
		code, raw := h.as(opTok).raw("POST", "/api/v1/jobs", map[string]any{"package": "needy", "environment": "Development"})
		if code != http.StatusConflict || !strings.Contains(string(raw), `"asset_missing"`) || !strings.Contains(string(raw), "nowhere_set") {
			t.Fatalf("start of a job whose asset has no value = %d %s", code, raw)
		}
	})

	t.Run("runners that do not hold the job are refused", func(t *testing.T) {
		path := "/api/v1/runner/jobs/" + credsJob + "/assets"
		if code, raw := runnerGet(t, h.gateway, path, idle, idleSecret); code != http.StatusForbidden || bytes.Contains(raw, []byte(password)) {
			t.Fatalf("a runner that never held the job = %d %s", code, raw)
		}
		if code, raw := runnerGet(t, h.gateway, path, id, secret); code != http.StatusForbidden || bytes.Contains(raw, []byte(password)) {
			t.Fatalf("the runner whose job has ended = %d %s", code, raw)
		}
		if code, _ := runnerGet(t, h.gateway, path, id, "exk_ms_wrong"); code != http.StatusUnauthorized {
			t.Fatalf("a wrong machine secret = %d", code)
		}
		// holding a job of another package does not open this one's assets
		plainJob := startJob(t, h, opTok, "plain", nil)
		waitFor(t, 30*time.Second, "the plain job running", func() bool {
			return h.as(opTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+plainJob, nil)["status"] == "running"
		})
		if code, raw := runnerGet(t, h.gateway, path, id, secret); code != http.StatusForbidden || bytes.Contains(raw, []byte(password)) {
			t.Fatalf("a runner holding another package's job = %d %s", code, raw)
		}
		code, raw := runnerGet(t, h.gateway, "/api/v1/runner/jobs/"+plainJob+"/assets", id, secret)
		if code != http.StatusOK || bytes.Contains(raw, []byte(password)) || bytes.Contains(raw, []byte(token)) {
			t.Fatalf("the assets of a package that declares none = %d %s", code, raw)
		}
		waitJob(t, h, opTok, plainJob, 30*time.Second)
	})

	t.Run("a key rotation while jobs run loses nothing", func(t *testing.T) {
		var jobs []string
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				j := startJob(t, h, opTok, "creds", nil)
				mu.Lock()
				jobs = append(jobs, j)
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
			}
		}()
		time.Sleep(2 * time.Second)
		out := exekractlWith(t, h.environ(), "assets", "rotate-key", "--home", h.home)
		t.Logf("exekractl assets rotate-key:\n%s", out)
		time.Sleep(2 * time.Second)
		out = exekractlWith(t, h.environ(), "assets", "retire-keys", "--home", h.home)
		t.Logf("exekractl assets retire-keys:\n%s", out)
		time.Sleep(2 * time.Second)
		close(stop)
		wg.Wait()
		for _, j := range jobs {
			if got := waitJob(t, h, opTok, j, 90*time.Second); got["status"] != "succeeded" {
				t.Fatalf("job %s around the rotation: %v\n%s", j, got, jobLog(t, h, opTok, j))
			}
			if log := jobLog(t, h, opTok, j); !strings.Contains(log, "password=***") {
				t.Fatalf("job %s around the rotation did not get its credential:\n%s", j, log)
			}
		}
		var ring struct {
			Primary string `json:"primary"`
			Keys    []struct {
				ID string `json:"id"`
			} `json:"keys"`
		}
		data, err := os.ReadFile(filepath.Join(h.home, "config", "asset-keys.json"))
		if err != nil || json.Unmarshal(data, &ring) != nil || len(ring.Keys) != 1 || ring.Keys[0].ID != ring.Primary {
			t.Fatalf("the key file after rotate and retire: %v %s", err, ring.Primary)
		}
		info, _ := os.Stat(filepath.Join(h.home, "config", "asset-keys.json"))
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("the key file's mode is %v", info.Mode().Perm())
		}
		t.Logf("%d jobs ran through the rotation, every one with its assets", len(jobs))
	})

	t.Run("reads and changes are audited without values", func(t *testing.T) {
		code, raw := h.as(adminTok).raw("GET", "/api/v1/audit/export?format=jsonl", nil)
		if code != http.StatusOK {
			t.Fatalf("audit export = %d", code)
		}
		for _, s := range plain {
			if bytes.Contains(raw, []byte(s)) {
				t.Fatal("the audit export holds an asset value in plain text")
			}
		}
		for _, action := range []string{`"asset.create"`, `"asset.value.set"`, `"asset.read"`, `"asset.read.denied"`, `"asset.key.rotate"`} {
			waitFor(t, 20*time.Second, "an "+action+" event", func() bool {
				_, raw := h.as(adminTok).raw("GET", "/api/v1/audit/export?format=jsonl", nil)
				return bytes.Contains(raw, []byte(action))
			})
		}
	})

	archive := filepath.Join(t.TempDir(), "assets-backup.tar.gz")
	exekractlWith(t, h.environ(), "backup", "--home", h.home, "--out", archive)
	t.Run("no log file and no backup holds a value in plain text", func(t *testing.T) {
		files := 0
		filepath.WalkDir(filepath.Join(h.home, "logs"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, _ := os.ReadFile(p)
			files++
			for _, s := range plain {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds an asset value in plain text", p)
				}
			}
			return nil
		})
		for _, s := range plain {
			if strings.Contains(a.out.String(), s) {
				t.Error("the agent's own output holds an asset value in plain text")
			}
		}
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tarBytes, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range plain {
			if bytes.Contains(tarBytes, []byte(s)) {
				t.Error("the backup archive holds an asset value in plain text")
			}
		}
		key, _ := os.ReadFile(filepath.Join(h.home, "config", "asset-keys.json"))
		if bytes.Contains(tarBytes, []byte("asset-keys.json\x00")) || bytes.Contains(tarBytes, bytes.TrimSpace(key)) {
			t.Error("the backup archive holds the asset key file")
		}
		t.Logf("%d log files and a %d-byte backup searched", files, len(tarBytes))
	})

	keyCopy := filepath.Join(t.TempDir(), "asset-keys.json")
	if data, err := os.ReadFile(filepath.Join(h.home, "config", "asset-keys.json")); err != nil || os.WriteFile(keyCopy, data, 0o600) != nil {
		t.Fatalf("copy the key file: %v", err)
	}
	h.destroy(t)
	a.cmd.Process.Kill()

	t.Run("a restore without the key refuses, with it the values work", func(t *testing.T) {
		fresh := newHub(t)
		fresh.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
		cmd := exec.Command(filepath.Join(binDir, "exekractl"), "restore", "--home", fresh.home, "--from", archive)
		cmd.Env = fresh.environ()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--asset-key-file") {
			t.Fatalf("a restore without the asset key: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(fresh.home, "config", "hub-config.json")); err == nil {
			t.Fatal("the refused restore wrote settings")
		}
		exekractlWith(t, fresh.environ(), "restore", "--home", fresh.home, "--from", archive, "--asset-key-file", keyCopy)
		fresh.start()
		admin := login(t, fresh, strings.ToLower(adminEmail), goodPassword)
		startAgent(t, fresh, id, secret)
		waitFor(t, 60*time.Second, "the agent online at the restored Hub", func() bool { return runnerStatus(t, fresh, admin, id) == "online" })
		j := startJob(t, fresh, admin, "creds", nil)
		if got := waitJob(t, fresh, admin, j, 60*time.Second); got["status"] != "succeeded" {
			t.Fatalf("a job after the restore: %v\n%s", got, jobLog(t, fresh, admin, j))
		}
		if log := jobLog(t, fresh, admin, j); !strings.Contains(log, "password=***") || strings.Contains(log, password) {
			t.Fatalf("a job after the restore:\n%s", log)
		}
	})
}
