package loadgen

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/metrics"
)

// TestCPUSecondsSendsTheMetricsToken reads a real metrics port: with the
// token the CPU seconds are read, without it or with a wrong one the scrape
// fails instead of counting nothing.
func TestCPUSecondsSendsTheMetricsToken(t *testing.T) {
	const token = "loadgen-test-metrics-token"
	file := filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := metrics.Listen("gateway.metrics_listen", "127.0.0.1:0", metrics.New("gateway"), file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ctx, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-served })
	urls := []string{"http://" + srv.Addr() + "/metrics"}
	// The process's CPU time counts in 10 ms ticks: a test run alone may not
	// have spent one yet.
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}

	if s, err := CPUSeconds(http.DefaultClient, Scrape{URLs: urls, Token: token}); err != nil || s <= 0 {
		t.Errorf("CPUSeconds with the token = %v, %v; want the process's CPU seconds", s, err)
	}
	for _, wrong := range []string{"", "not-the-token"} {
		if s, err := CPUSeconds(http.DefaultClient, Scrape{URLs: urls, Token: wrong}); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("CPUSeconds with token %q = %v, %v; want a 401 error", wrong, s, err)
		}
	}
}
