//go:build unix

package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// Values of the job's assets in these tests; the password holds what JSON escapes.
const (
	assetUser     = "robot-user-1"
	assetPassword = `pw"Sup3r\secret`
	assetSecret   = "sk-live-0123456789"
)

// assetsScript prints the assets every way a robot might: its variables,
// the file's path, mode and content, and its whole environment.
const assetsScript = `echo "user:$EXEKRA_ASSET_SAP_LOGIN_USERNAME pass:$EXEKRA_ASSET_SAP_LOGIN_PASSWORD"
echo "key:$EXEKRA_ASSET_API_KEY"
echo "retries:$EXEKRA_ASSET_RETRIES verbose:$EXEKRA_ASSET_VERBOSE"
echo "file:$EXEKRA_ASSETS_FILE"
echo "mode:$(ls -l "$EXEKRA_ASSETS_FILE" | cut -c1-10)"
printf 'content:%s\n' "$(cat "$EXEKRA_ASSETS_FILE")"
echo "args:$0 $*"
env
`

func assetsPackage(t *testing.T, script string) []byte {
	return zipOf(t, map[string]string{
		"exekra.json": `{"name":"demo","version":"1.0.0","entrypoint":["./run.sh"],"assets":["sap_login","api_key","retries","verbose"]}`,
		"run.sh":      "#!/bin/sh\n" + script,
	})
}

func declaredAssets() []runners.AgentAsset {
	cred, _ := json.Marshal(runners.Credential{Username: assetUser, Password: assetPassword})
	secret, _ := json.Marshal(assetSecret)
	return []runners.AgentAsset{
		{Name: "sap_login", Type: runners.AssetCredential, Scope: runners.ScopeEnvironment, Value: cred},
		{Name: "api_key", Type: runners.AssetSecret, Scope: runners.ScopeGlobal, Value: secret},
		{Name: "retries", Type: runners.AssetInteger, Scope: runners.ScopeRunner, Value: json.RawMessage(`3`)},
		{Name: "verbose", Type: runners.AssetBoolean, Scope: runners.ScopeGlobal, Value: json.RawMessage(`true`)},
	}
}

var assetNames = []string{"sap_login", "api_key", "retries", "verbose"}

// messages are the uploaded lines of key, and whether any holds a value.
func messages(t *testing.T, g *gateway, key string) []string {
	t.Helper()
	_, _, logs := g.snapshot()
	var out []string
	escaped, _ := json.Marshal(assetPassword)
	for _, l := range logs[key] {
		for _, v := range []string{assetUser, assetPassword, assetSecret, strings.Trim(string(escaped), `"`), "Sup3r"} {
			if strings.Contains(l.Message, v) {
				t.Errorf("an uploaded line holds a value: %q", l.Message)
			}
		}
		out = append(out, l.Message)
	}
	return out
}

func TestJobReceivesItsAssetsMasked(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", assetsPackage(t, assetsScript))
	g.mu.Lock()
	g.assets[jobA] = declaredAssets()
	g.mu.Unlock()
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 2, Assets: assetNames})
	ra := startAgent(t, g, t.TempDir())
	cb := g.waitCompletion(t, jobA, 20*time.Second)
	if cb.Status != "succeeded" {
		t.Fatalf("completion %+v", cb)
	}
	lines := messages(t, g, jobA+"/2")
	has := func(want string) bool { return slices.Contains(lines, want) }
	for _, want := range []string{
		"user:*** pass:***", "key:***", "retries:3 verbose:true", "mode:-rw-------",
		"EXEKRA_ASSET_SAP_LOGIN_USERNAME=***", "EXEKRA_ASSET_SAP_LOGIN_PASSWORD=***", "EXEKRA_ASSET_API_KEY=***",
		"EXEKRA_ASSET_RETRIES=3", "EXEKRA_ASSET_VERBOSE=true",
	} {
		if !has(want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
	var file, content, args string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "file:"):
			file = strings.TrimPrefix(l, "file:")
		case strings.HasPrefix(l, "content:"):
			content = strings.TrimPrefix(l, "content:")
		case strings.HasPrefix(l, "args:"):
			args = l
		}
	}
	if !filepath.IsAbs(file) || filepath.Base(file) != runners.AssetsFileName || filepath.Base(filepath.Dir(file)) != "work" ||
		!has(runners.AssetsFileEnv+"="+file) {
		t.Errorf("the assets file %q", file)
	}
	if content != `{"api_key":"***","retries":3,"sap_login":{"username":"***","password":"***"},"verbose":true}` {
		t.Errorf("the file's content as the job printed it: %s", content)
	}
	if !strings.HasSuffix(args, "/run.sh ") { // nothing but the entrypoint
		t.Errorf("the command line: %q", args)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the assets file is still there after the job: %v", err)
	}
	// Fetched after the take-up and the download, for the attempt run.
	events, _, _ := g.snapshot()
	up, down, assets := slices.Index(events, "take-up "+jobA+"/2"), slices.Index(events, "download demo"), slices.Index(events, "assets "+jobA+"/2")
	if up < 0 || down < up || assets < down {
		t.Errorf("events %q", events)
	}
	for _, v := range []string{assetUser, assetSecret, "Sup3r"} {
		if strings.Contains(string(ra.logs.Bytes()), v) {
			t.Errorf("the agent's own log holds a value")
		}
	}
}

// The file goes when the job is stopped too.
func TestAssetsFileRemovedOnTimeout(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", assetsPackage(t, `echo "file:$EXEKRA_ASSETS_FILE"; echo "key:$EXEKRA_ASSET_API_KEY"; sleep 30`))
	g.mu.Lock()
	g.assets[jobA] = declaredAssets()
	g.mu.Unlock()
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 1, Attempt: 1, Assets: assetNames})
	startAgent(t, g, t.TempDir())
	var file string
	waitFor(t, 10*time.Second, "the job's file line", func() bool {
		for _, l := range messages(t, g, jobA+"/1") {
			if strings.HasPrefix(l, "file:") {
				file = strings.TrimPrefix(l, "file:")
				return true
			}
		}
		return false
	})
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("while the job runs: %v %v", info, err)
	}
	if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "failed" || cb.Error != runners.JobErrorTimeout {
		t.Fatalf("completion %+v", cb)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the assets file is still there: %v", err)
	}
	if !slices.Contains(messages(t, g, jobA+"/1"), "key:***") {
		t.Fatal("the secret line was not masked")
	}
}

// The Hub's refusal ends the attempt as failed with its message, and the
// process never starts; what may pass is asked again.
func TestJobAssetsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refusal refusal
	}{
		{"asset missing", refusal{409, "asset_missing", `asset sap_login has no value for this runner (environment Production)`}},
		{"job not held", refusal{403, "permission_denied", "this runner does not hold attempt 1 of the job"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			ref := g.publish("demo", "1.0.0", assetsPackage(t, "echo ran\n"))
			g.mu.Lock()
			g.assetsRefusal = &tc.refusal
			g.mu.Unlock()
			g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1, Assets: assetNames})
			startAgent(t, g, t.TempDir())
			cb := g.waitCompletion(t, jobA, 20*time.Second)
			if cb.Status != "failed" || cb.Error != tc.refusal.message || cb.ExitCode != nil {
				t.Fatalf("completion %+v", cb)
			}
			events, _, _ := g.snapshot()
			if n := strings.Count(strings.Join(events, ","), "assets "); n != 1 {
				t.Errorf("asked %d times: %q", n, events)
			}
			lines := messages(t, g, jobA+"/1")
			if slices.Contains(lines, "ran") || !slices.Contains(lines, "exekra-runner: "+tc.refusal.message) {
				t.Errorf("lines %q", lines)
			}
		})
	}
	t.Run("unavailable for a moment", func(t *testing.T) {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", assetsPackage(t, `echo "key:$EXEKRA_ASSET_API_KEY"`+"\n"))
		g.mu.Lock()
		g.assets[jobA] = declaredAssets()
		g.assetsUnavailable = 2
		g.mu.Unlock()
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1, Assets: assetNames})
		startAgent(t, g, t.TempDir())
		if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "succeeded" {
			t.Fatalf("completion %+v", cb)
		}
		events, _, _ := g.snapshot()
		if n := strings.Count(strings.Join(events, ","), "assets "); n != 3 {
			t.Errorf("asked %d times: %q", n, events)
		}
		if !slices.Contains(messages(t, g, jobA+"/1"), "key:***") {
			t.Error("no masked key line")
		}
	})
	t.Run("unavailable for longer than the agent waits", func(t *testing.T) {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", assetsPackage(t, "echo ran\n"))
		g.mu.Lock()
		g.assetsUnavailable = 1 << 30
		g.mu.Unlock()
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1, Assets: assetNames})
		startAgent(t, g, t.TempDir(), func(a *Agent) { a.jobs.assetsWithin = time.Second })
		cb := g.waitCompletion(t, jobA, 20*time.Second)
		if cb.Status != "failed" || !strings.Contains(cb.Error, "did not hand out the job's assets within 1s") ||
			!strings.Contains(cb.Error, "the asset key file is missing") {
			t.Fatalf("completion %+v", cb)
		}
		if slices.Contains(messages(t, g, jobA+"/1"), "ran") {
			t.Error("the job ran")
		}
	})
}

// A job whose package declares no assets asks for none.
func TestJobWithoutAssetsAsksForNone(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, `echo "file:$EXEKRA_ASSETS_FILE"`+"\n"))
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
	startAgent(t, g, t.TempDir())
	if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "succeeded" {
		t.Fatalf("completion %+v", cb)
	}
	events, _, logs := g.snapshot()
	if strings.Contains(strings.Join(events, ","), "assets ") || len(logs[jobA+"/1"]) != 1 || logs[jobA+"/1"][0].Message != "file:" {
		t.Fatalf("events %q logs %v", events, logs)
	}
}
func TestWriteAssetsFile(t *testing.T) {
	work := t.TempDir()
	// A file of that name in the package is replaced, not written through.
	if err := os.WriteFile(filepath.Join(work, runners.AssetsFileName), []byte("from the package"), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := writeAssetsFile(work, []byte(`{"a":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || !filepath.IsAbs(path) || info.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, info.Mode(), err)
	}
	if data, _ := os.ReadFile(path); string(data) != `{"a":"b"}` {
		t.Fatalf("content %q", data)
	}
}
