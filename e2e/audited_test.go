package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// auditEvents returns the log's records matching q, newest first.
func auditEvents(t *testing.T, h *hub, adminTok string, q url.Values) []map[string]any {
	t.Helper()
	q.Set("limit", "500")
	page := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/audit?"+q.Encode(), nil)
	var out []map[string]any
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// exactlyOnce waits for the event matching q (and outcome) to arrive, then
// checks it arrived once and stays once.
func exactlyOnce(t *testing.T, h *hub, adminTok string, q url.Values, outcome string) map[string]any {
	t.Helper()
	match := func() []map[string]any {
		var m []map[string]any
		for _, e := range auditEvents(t, h, adminTok, q) {
			if e["outcome"] == outcome {
				m = append(m, e)
			}
		}
		return m
	}
	waitFor(t, 15*time.Second, "audit event "+q.Encode(), func() bool { return len(match()) > 0 })
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive by now
	got := match()
	if len(got) != 1 {
		t.Fatalf("%s (%s): %d events, want exactly 1: %v", q.Encode(), outcome, len(got), got)
	}
	return got[0]
}

func checkActor(t *testing.T, ev map[string]any, typ, id string) {
	t.Helper()
	a := ev["actor"].(map[string]any)
	if a["type"] != typ || (id != "" && a["id"] != id) {
		t.Fatalf("%s: actor %v, want %s %s", ev["action"], a, typ, id)
	}
}

func checkAuditedActions(t *testing.T, h *hub, adminTok, opTok string) {
	admin := h.as(adminTok)
	me := admin.must(http.StatusOK, "GET", "/api/v1/auth/me", nil)
	adminID := me["id"].(string)
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// Actions of the setup, done once for this installation.
	exactlyOnce(t, h, adminTok, q("action", "license.activate"), "success")
	boot := exactlyOnce(t, h, adminTok, q("action", "setup.bootstrap"), "success")
	if d, _ := boot["details"].(map[string]any); d == nil {
		t.Fatalf("bootstrap event without details: %v", boot)
	}

	u := admin.must(http.StatusCreated, "POST", "/api/v1/users",
		map[string]string{"email": "audited@acme.test", "password": goodPassword, "name": "Audited"})
	uid := u["id"].(string)
	admin.must(http.StatusOK, "PATCH", "/api/v1/users/"+uid, map[string]string{"name": "Audited Again"})
	h.as("").must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": "audited@acme.test", "password": "not the password"})
	utok := login(t, h, "audited@acme.test", goodPassword)
	uapi := h.as(utok)
	uapi.must(http.StatusForbidden, "GET", "/api/v1/audit", nil)
	uapi.must(http.StatusNoContent, "POST", "/api/v1/auth/logout", nil)
	admin.must(http.StatusNoContent, "DELETE", "/api/v1/users/"+uid, nil)

	tests := []struct {
		name    string
		q       url.Values
		outcome string
		actor   [2]string
	}{
		{"user.create", q("action", "user.create", "target", uid), "success", [2]string{"user", adminID}},
		{"user.update", q("action", "user.update", "target", uid), "success", [2]string{"user", adminID}},
		{"auth.login failure", q("action", "auth.login", "actor", "audited@acme.test"), "failure", [2]string{"user", ""}},
		{"auth.login success", q("action", "auth.login", "actor", uid), "success", [2]string{"user", uid}},
		{"access.denied", q("action", "access.denied", "actor", uid), "failure", [2]string{"user", uid}},
		{"auth.logout", q("action", "auth.logout", "actor", uid), "success", [2]string{"user", uid}},
		{"user.delete", q("action", "user.delete", "target", uid), "success", [2]string{"user", adminID}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is recorded once with its actor and outcome", func(t *testing.T) {
			ev := exactlyOnce(t, h, adminTok, tt.q, tt.outcome)
			checkActor(t, ev, tt.actor[0], tt.actor[1])
			if ev["hash"] == "" || ev["prev_hash"] == "" || ev["request_id"] == "" {
				t.Fatalf("event lacks chain or request fields: %v", ev)
			}
		})
	}
}

// checkAuditTools runs exekractl against the Hub: verify, checkpoint, export.
func checkAuditTools(t *testing.T, h *hub, adminTok string, secrets []string) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "admin.token")
	os.WriteFile(tokFile, []byte(adminTok), 0o600)
	conn := []string{"--hub", h.gateway, "--ca", filepath.Join(h.home, "config", "certs", "hub.crt"), "--token-file", tokFile}
	out := exekractl(t, append([]string{"audit", "verify"}, conn...)...)
	if !strings.Contains(out, "audit chain verified") {
		t.Fatalf("verify: %s", out)
	}
	cp := filepath.Join(dir, "checkpoint.json")
	waitFor(t, 10*time.Second, "a signed checkpoint", func() bool {
		_, err := exekractlErr(append([]string{"audit", "checkpoint", "--out", cp}, conn...)...)
		return err == nil
	})
	if out := exekractl(t, append([]string{"audit", "verify", "--checkpoint", cp}, conn...)...); !strings.Contains(out, "is still in the log") {
		t.Fatalf("verify with checkpoint: %s", out)
	}
	for _, format := range []string{"jsonl", "csv"} {
		file := filepath.Join(dir, "audit."+format)
		exekractl(t, append([]string{"audit", "export", "--format", format, "--out", file}, conn...)...)
		data, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(data), "user.create") || !strings.Contains(string(data), "auth.login") {
			t.Fatalf("%s export lacks events (%v): %.300s", format, err, data)
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Fatalf("%s export holds a secret used by the test", format)
			}
		}
	}
}

// exekractlErr runs the CLI and returns its output and error.
func exekractlErr(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(binDir, "exekractl"), args...).CombinedOutput()
	return string(out), err
}

// checkTamperingFound rewrites one record as the database superuser (bypassing
// the triggers) and expects exekractl audit verify to fail naming it.
func checkTamperingFound(t *testing.T, h *hub, adminTok string) {
	db := h.pilotDB(t)
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE audit.audit_log SET actor_email = 'someone-else@acme.test' WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "admin.token")
	os.WriteFile(tokFile, []byte(adminTok), 0o600)
	out, err := exekractlErr("audit", "verify", "--hub", h.gateway, "--ca", filepath.Join(h.home, "config", "certs", "hub.crt"), "--token-file", tokFile)
	if err == nil || !strings.Contains(out, "BROKEN at seq 2") {
		t.Fatalf("verify after tampering: %v %s", err, out)
	}
	v := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/audit/verify", nil)
	if v["ok"] != false || v["first_bad_seq"] != float64(2) {
		t.Fatalf("API verify after tampering = %v", v)
	}
}
