package e2e

import (
	"bytes"
	"context"
	"github.com/exekra/hub/libs/testkit/freeport"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartupErrors checks that bad settings and missing dependencies stop a
// process with a non-zero exit and one clear line naming the cause.
func TestStartupErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closed := freeport.Addr(t)

	tests := []struct {
		name   string
		binary string
		file   string // hub-config.json; "-" leaves it missing
		env    map[string]string
		want   []string
	}{
		{"missing config file", "exekra-identity", "-", nil, []string{"hub-config.json not found"}},
		{"malformed config file", "exekra-identity", `{"log": `, nil, []string{"hub-config.json", "not valid JSON"}},
		{"unknown key in the file", "exekra-gateway", `{"gateway": {"listne": ":1"}}`, nil, []string{`unknown key "gateway.listne"`}},
		{"unknown variable", "exekra-audit", `{}`, map[string]string{"EXEKRA_DATABSE_URL": "x"}, []string{"EXEKRA_DATABSE_URL names no known key"}},
		{"gateway port in use", "exekra-gateway", `{}`, map[string]string{"EXEKRA_GATEWAY_LISTEN": busy.Addr().String()},
			[]string{"gateway.listen", busy.Addr().String(), "address already in use"}},
		{"metrics port in use", "exekra-runners", `{}`, map[string]string{"EXEKRA_RUNNERS_METRICS_LISTEN": busy.Addr().String()},
			[]string{"runners.metrics_listen", "address already in use"}},
		{"unreachable database", "exekra-identity", `{}`, map[string]string{
			"EXEKRA_DATABASE_URL":             "postgres://exekra:hunter2@" + closed + "/exekra?sslmode=disable",
			"EXEKRA_DATABASE_CONNECT_TIMEOUT": "1s"},
			[]string{"PostgreSQL at " + closed, "unreachable"}},
		{"supervisor without redis-server", "exekra-hub", "", map[string]string{"EXEKRA_REDIS_SERVER_PATH": "/nonexistent/redis-server"},
			[]string{"redis-server"}},
		{"supervisor NATS port in use", "exekra-hub", "", map[string]string{"EXEKRA_NATS_LISTEN": busy.Addr().String()},
			[]string{"nats.listen", "address already in use"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t)
			if tt.file != "-" && tt.file != "" {
				os.MkdirAll(filepath.Join(h.home, "config"), 0o755)
				os.WriteFile(filepath.Join(h.home, "config", "hub-config.json"), []byte(tt.file), 0o644)
			}
			for k, v := range tt.env {
				h.env[k] = v
			}
			if tt.binary != "exekra-hub" {
				h.env["EXEKRA_NATS_URL"] = "nats://" + closed
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir, tt.binary), "--home", h.home)
			cmd.Env = h.environ()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil || cmd.ProcessState.ExitCode() <= 0 {
				t.Fatalf("exit = %v, want a non-zero exit", err)
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Count(msg, "\n") != 0 || strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic") {
				t.Errorf("want one clear line, got:\n%s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("stderr leaks the database password: %q", msg)
			}
		})
	}
}
