// Command exekra-loadgen simulates runners against a running Hub: it
// registers them through the API, heartbeats at the configured interval and
// prints latency percentiles, errors and the CPU the Hub spent per 1,000 calls.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/tools/internal/hubclient"
	"github.com/exekra/hub/tools/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekra-loadgen: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekra-loadgen", flag.ContinueOnError)
	hub := fs.String("hub", "https://127.0.0.1:8443", "the Hub's URL")
	ca := fs.String("ca", "", "CA certificate of the Hub (the pilot's config/certs/hub.crt)")
	tokenFile := fs.String("token-file", "", "ADMIN session token (to register the simulated runners)")
	n := fs.Int("runners", 100, "simulated runners")
	interval := fs.Duration("interval", 15*time.Second, "heartbeat interval of each runner")
	duration := fs.Duration("duration", 60*time.Second, "how long to run")
	metrics := fs.String("metrics", "", "comma-separated /metrics URLs of the Hub's processes, for CPU accounting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	api, err := hubclient.New(*hub, strings.TrimSpace(string(token)), hubclient.Options{CAFile: *ca})
	if err != nil {
		return err
	}
	sims, err := register(api, *n)
	if err != nil {
		return err
	}
	defer cleanup(api, sims)
	client, err := httpClient(*ca, *n)
	if err != nil {
		return err
	}
	var urls []string
	if *metrics != "" {
		urls = strings.Split(*metrics, ",")
	}
	// One interval of warm-up (TLS handshakes, first heartbeats), not measured.
	loadgen.Heartbeats(ctx, client, *hub, sims, *interval, *interval)
	before, _ := loadgen.CPUSeconds(http.DefaultClient, urls)
	res := loadgen.Heartbeats(ctx, client, *hub, sims, *interval, *duration)
	after, _ := loadgen.CPUSeconds(http.DefaultClient, urls)
	res.HubCPU = after - before
	if res.Requests > 0 {
		res.CPUPer1000 = res.HubCPU * 1000 / float64(res.Requests) * 1000
	}
	fmt.Fprintf(stdout, "%d runners, heartbeat every %s, for %s; Hub CPU %.2fs\n", *n, *interval, *duration, res.HubCPU)
	loadgen.Print(stdout, []loadgen.Result{res})
	return nil
}

func register(api *hubclient.Client, n int) ([]loadgen.Runner, error) {
	stamp := time.Now().Format("150405")
	out := make([]loadgen.Runner, 0, n)
	for i := range n {
		var reg runners.Registered
		req := runners.RegisterRequest{Name: fmt.Sprintf("loadgen-%s-%05d", stamp, i), Environment: runners.EnvDevelopment}
		if err := api.JSON("POST", "/api/v1/runners", req, &reg); err != nil {
			return out, fmt.Errorf("register runner %d: %w", i, err)
		}
		out = append(out, loadgen.Runner{ID: reg.Runner.ID, Secret: reg.MachineSecret})
	}
	return out, nil
}

func cleanup(api *hubclient.Client, sims []loadgen.Runner) {
	for _, r := range sims {
		api.JSON("DELETE", "/api/v1/runners/"+r.ID, nil, nil)
	}
}

// httpClient keeps enough idle connections for every simulated runner.
func httpClient(caFile string, n int) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pem)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg, MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: 2 * time.Minute,
	}}, nil
}
