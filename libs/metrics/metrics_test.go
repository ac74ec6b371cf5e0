package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/metrics"
)

func TestListenOnAPortInUseNamesTheKeyAndAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	_, err = metrics.Listen("identity.metrics_listen", addr, metrics.New("identity"))
	if err == nil {
		t.Fatalf("Listen on busy %s succeeded", addr)
	}
	for _, want := range []string{"identity.metrics_listen", addr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestServerServesTheSharedVectors(t *testing.T) {
	reg := metrics.New("audit")
	reg.HTTPRequests.WithLabelValues("/api/runners/:id", "GET", "200").Inc()
	reg.HTTPDuration.WithLabelValues("/api/runners/:id").Observe(0.01)
	reg.NATSRequests.WithLabelValues("exekra.audit.v1.status", "ok").Inc()
	srv, err := metrics.Listen("audit.metrics_listen", "127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ctx, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		<-served
	})

	body := get(t, "http://"+srv.Addr()+"/metrics")
	for _, want := range []string{
		`exekra_http_requests_total{code="200",method="GET",route="/api/runners/:id"} 1`,
		`exekra_http_request_duration_seconds_count{route="/api/runners/:id"} 1`,
		`exekra_nats_requests_total{outcome="ok",subject="exekra.audit.v1.status"} 1`,
		`exekra_process_info{process="audit"} 1`,
		`go_goroutines`,
		`process_start_time_seconds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if got := get(t, "http://"+srv.Addr()+"/livez"); got != "ok\n" {
		t.Errorf("/livez = %q", got)
	}

	t.Run("serve returns when the context ends", func(t *testing.T) {
		cancel()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return within 5s of its context ending")
		}
	})
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
