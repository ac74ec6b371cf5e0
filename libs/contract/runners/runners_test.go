package runners

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSupportsProtocol(t *testing.T) {
	for v, want := range map[string]bool{"": true, "1": true, " 1 ": true, "2": false, "0": false, "1.0": false} {
		if got := SupportsProtocol(v); got != want {
			t.Errorf("SupportsProtocol(%q) = %v", v, got)
		}
	}
	if msg := UnsupportedProtocol("2"); !strings.Contains(msg, `"2"`) || !strings.Contains(msg, "speaks 1") {
		t.Fatalf("message %q", msg)
	}
	if msg := UnsupportedProtocol(strings.Repeat("9", 100)); len(msg) > 200 {
		t.Fatalf("a long version is quoted whole: %q", msg)
	}
}

func TestSecretSHA256(t *testing.T) {
	// printf %s exk_ms_test | sha256sum
	if got := SecretSHA256("exk_ms_test"); got != "48b6300e40eb51cf4f9ac3ba0ecf8c971cbbfce80ea6a84b8d3a1c53a0a7d502" {
		t.Fatalf("%q", got)
	}
}

func TestHeartbeatRequestIsFlat(t *testing.T) {
	req := HeartbeatRequest{Credentials: Credentials{RunnerID: "id", SecretSHA256: "h"}, Protocol: "1", UserAgent: "ua",
		Heartbeat: Heartbeat{Version: "v", OS: "o", Hostname: "h", RunningJobIDs: []string{}}}
	raw, _ := json.Marshal(req)
	want := `{"runner_id":"id","secret_sha256":"h","protocol":"1","user_agent":"ua","version":"v","os":"o","hostname":"h",` +
		`"metrics":{"cpu_percent":0,"memory_percent":0,"disk_free_bytes":0},"running_job_ids":[]}`
	if string(raw) != want {
		t.Fatalf("%s\nwant %s", raw, want)
	}
}
