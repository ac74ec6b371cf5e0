// Package loadgen simulates runners against a running Hub and reports
// latency percentiles, errors and the CPU the Hub's processes spent: the
// heartbeat scenario (Heartbeats) and the jobs scenario (RunJobs).
package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/runnerclient"
)

// Runner is one simulated runner: its id and its client of the runner
// protocol, the agent's own (libs/runnerclient), so that what is measured
// is what a real runner does.
type Runner struct {
	ID     string
	Client *runnerclient.Client
}

// userAgent names the simulated runners to the Hub.
var userAgent = "exekra-loadgen/" + buildinfo.Version

// NewRunner is the simulated runner id, with its machine secret, of the
// Hub at hub; its calls go through hc (its own connection, as a real
// runner has, or one shared by many). startOnClaim asks its claims to take
// their jobs up (runners.HeaderClaimStart), as the agent does.
func NewRunner(hub, id, secret string, hc *http.Client, startOnClaim bool) (Runner, error) {
	c, err := runnerclient.New(runnerclient.Config{Hub: hub, RunnerID: id, Secret: secret, UserAgent: userAgent, HTTP: hc,
		StartOnClaim: startOnClaim})
	if err != nil {
		return Runner{}, fmt.Errorf("simulated runner %s: %w", id, err)
	}
	return Runner{ID: id, Client: c}, nil
}

// Result is what one scenario measured.
type Result struct {
	Operation  string        `json:"operation"`
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	Duration   time.Duration `json:"duration_ns"`
	P50, P95   time.Duration
	P99, Max   time.Duration
	HubCPU     float64 `json:"hub_cpu_seconds"`
	CPUPer1000 float64 `json:"hub_cpu_ms_per_1000"`
	// The heartbeat scenario's runners also hold long-poll claims:
	// the fewest open at once while measured, and their failures.
	ClaimsOpenMin int64 `json:"claims_open_min,omitempty"`
	ClaimErrors   int   `json:"claim_errors,omitempty"`
	// HubMemory is the peak memory of the Hub's process tree (see TreeMemory).
	HubMemory   int64            `json:"hub_memory_bytes,omitempty"`
	HubMemoryBy map[string]int64 `json:"hub_memory_bytes_by_program,omitempty"`
}

// Heartbeats sends one heartbeat per runner every interval for duration,
// spreading the runners evenly over the interval, and measures each call.
func Heartbeats(ctx context.Context, sims []Runner, interval, duration time.Duration) Result {
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i, r := range sims {
		offset := spread(i, len(sims), interval)
		wg.Go(func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(offset):
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				d, err := Heartbeat(ctx, r)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if err != nil {
					errors++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
	return summarize("heartbeat", lat, errors, time.Since(start))
}

// heartbeatBody is every simulated runner's report: this build's version, which
// the Hub's skew policy accepts when the bench and the Hub come from one build.
var heartbeatBody = runners.Heartbeat{Version: buildinfo.Version, Commit: buildinfo.Commit, OS: "linux", Hostname: "loadgen",
	Metrics: runners.Metrics{CPUPercent: 1, MemoryPercent: 2, DiskFreeBytes: 3}, RunningJobIDs: []string{}}

// Heartbeat sends one heartbeat and measures it.
func Heartbeat(ctx context.Context, r Runner) (time.Duration, error) {
	start := time.Now()
	if _, err := r.Client.Heartbeat(ctx, heartbeatBody); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func summarize(op string, lat []time.Duration, errors int, took time.Duration) Result {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Result{Operation: op, Requests: len(lat) + errors, Errors: errors, Duration: took,
		P50: percentile(lat, 0.50), P95: percentile(lat, 0.95), P99: percentile(lat, 0.99)}
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
	}
	return r
}

// Scrape is where the Hub's processes serve /metrics, and the bearer token
// those ports want (the content of the Hub's metrics.token_file).
type Scrape struct {
	URLs  []string
	Token string
}

// StartCPU starts measuring the CPU the Hub's processes spend (their
// process_cpu_seconds_total at s's URLs); the function it returns gives the
// seconds spent since.
func StartCPU(s Scrape) func() (float64, error) {
	before, err := CPUSeconds(http.DefaultClient, s)
	return func() (float64, error) {
		after, err2 := CPUSeconds(http.DefaultClient, s)
		if err := errors.Join(err, err2); err != nil {
			return 0, err
		}
		return after - before, nil
	}
}

// PerThousand is CPU seconds spent on n operations as CPU-ms per 1,000 of
// them (0 without operations).
func PerThousand(seconds float64, n int) float64 {
	if n <= 0 {
		return 0
	}
	return seconds * 1e6 / float64(n)
}

// spread is the offset of the i-th of n things spread evenly over span.
func spread(i, n int, span time.Duration) time.Duration {
	return time.Duration(int64(span) * int64(i) / int64(n))
}

// CPUSeconds sums process_cpu_seconds_total over s's /metrics URLs.
func CPUSeconds(client *http.Client, s Scrape) (float64, error) {
	return MetricSum(client, s, "process_cpu_seconds_total")
}

// MetricSum sums every sample of metric (all its label sets) over s's
// /metrics URLs, each read with s's bearer token; an answer other than 200
// is an error. A URL without the metric adds nothing.
func MetricSum(client *http.Client, s Scrape, metric string) (float64, error) {
	total := 0.0
	for _, u := range s.URLs {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return 0, fmt.Errorf("scrape %s: %w", u, err)
		}
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("scrape %s: %w", u, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return 0, fmt.Errorf("scrape %s: %s (is --metrics-token-file the Hub's metrics.token_file?)", u, resp.Status)
		}
		total += sampleSum(resp.Body, metric)
		resp.Body.Close()
	}
	return total, nil
}

// sampleSum sums the samples of metric in a Prometheus text exposition:
// the lines "metric value" and "metric{labels} value".
func sampleSum(r io.Reader, metric string) float64 {
	total := 0.0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), metric)
		if !ok || rest == "" || rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if f, err := strconv.ParseFloat(fields[0], 64); err == nil {
			total += f
		}
	}
	return total
}

// Print writes the results as a table and as JSON.
func Print(w io.Writer, results []Result) {
	fmt.Fprintf(w, "%s %12s\n", header(), "cpu ms/1000")
	for _, r := range results {
		fmt.Fprintf(w, "%s %12.1f\n", row(r), r.CPUPer1000)
	}
	data, _ := json.Marshal(results)
	fmt.Fprintf(w, "%s\n", data)
}

// header and row are the table columns every scenario prints.
func header() string {
	return fmt.Sprintf("%-10s %9s %7s %9s %9s %9s %9s", "operation", "requests", "errors", "p50", "p95", "p99", "max")
}

func row(r Result) string {
	return fmt.Sprintf("%-10s %9d %7d %9s %9s %9s %9s", r.Operation, r.Requests, r.Errors,
		r.P50.Round(10*time.Microsecond), r.P95.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond),
		r.Max.Round(10*time.Microsecond))
}
