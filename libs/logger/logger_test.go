package logger

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/config"
)

func TestLinesCarryServiceAndRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := NewWriter(&buf, "identity", slog.LevelInfo)
	ctx := caller.With(context.Background(), caller.Info{RequestID: "req-1"})
	log.InfoContext(ctx, "user created", "user_id", "u1")
	log.DebugContext(ctx, "hidden at info level")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line, got %d: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if rec["service"] != "identity" || rec["request_id"] != "req-1" || rec["msg"] != "user created" {
		t.Fatalf("record = %v", rec)
	}
}

func TestNewWritesTheServiceFile(t *testing.T) {
	cfg := config.Default(t.TempDir())
	log, closer, err := New(cfg, "audit")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("started")
	closer.Close()
	data, err := os.ReadFile(filepath.Join(cfg.Home, "logs", "hub-audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"msg":"started"`) {
		t.Fatalf("log file = %q", data)
	}
}
