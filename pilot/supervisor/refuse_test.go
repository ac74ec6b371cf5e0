//go:build unix

package supervisor

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesToStart checks the start-up errors that come before anything runs.
func TestRunRefusesToStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name  string
		env   map[string]string
		setup func(th *testHub)
		want  []string
	}{
		{"redis-server missing", map[string]string{"EXEKRA_REDIS_SERVER_PATH": "/nonexistent/redis-server"}, nil,
			[]string{"redis-server", "apt-get install redis-server", "redis.url"}},
		{"a service binary missing", nil, func(th *testHub) { os.Remove(filepath.Join(th.binDir, "exekra-gateway")) },
			[]string{"exekra-gateway not found in", "supervisor.bin_dir"}},
		{"the NATS port in use", map[string]string{"EXEKRA_NATS_LISTEN": busy.Addr().String()}, nil,
			[]string{"nats.listen " + busy.Addr().String() + ": address already in use"}},
		{"a service's metrics port in use", map[string]string{"EXEKRA_AUDIT_METRICS_LISTEN": busy.Addr().String()}, nil,
			[]string{"audit.metrics_listen", "address already in use"}},
		{"an unknown variable", map[string]string{"EXEKRA_NATS_LISTNE": "x"}, nil, []string{"EXEKRA_NATS_LISTNE names no known key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHub(t)
			for k, v := range tt.env {
				th.env[k] = v
			}
			if tt.setup != nil {
				tt.setup(th)
			}
			err := Run(context.Background(), Options{Home: th.home, Environ: th.environ(), Stdout: io.Discard})
			if err == nil {
				t.Fatal("Run = nil, want a start-up error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if left := childrenOfTest(); len(left) > 0 {
				t.Errorf("processes started before the check failed: %v", left)
			}
		})
	}
}
