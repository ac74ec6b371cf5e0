package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/exekra/hub/libs/hubclient"
	"github.com/exekra/hub/libs/pkgstore"
)

// ms makes 1ms..n ms in order.
func ms(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no samples is zero", nil, 0.5, 0},
		{"one sample is every percentile", ms(1), 0.99, time.Millisecond},
		{"median of 100 is the 50th", ms(100), 0.50, 50 * time.Millisecond},
		{"p95 of 100 is the 95th", ms(100), 0.95, 95 * time.Millisecond},
		{"p99 of 100 is the 99th, not the max", ms(100), 0.99, 99 * time.Millisecond},
		{"p99 of 200 is the 198th", ms(200), 0.99, 198 * time.Millisecond},
		{"p07 of 100 does not round up to the 8th", ms(100), 0.07, 7 * time.Millisecond},
		{"median of two is the lower", ms(2), 0.50, time.Millisecond},
		{"p99 of ten is the max", ms(10), 0.99, 10 * time.Millisecond},
		{"p100 is the max", ms(7), 1, 7 * time.Millisecond},
		{"a tiny p is the min", ms(7), 0.0001, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("percentile(%d samples, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Run("unsorted samples are sorted and errors counted as requests", func(t *testing.T) {
		lat := []time.Duration{3 * time.Millisecond, time.Millisecond, 4 * time.Millisecond, 2 * time.Millisecond}
		r := summarize("pickup", lat, 2, time.Second)
		want := Result{Operation: "pickup", Requests: 6, Errors: 2, Duration: time.Second,
			P50: 2 * time.Millisecond, P95: 4 * time.Millisecond, P99: 4 * time.Millisecond, Max: 4 * time.Millisecond}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("summarize = %+v, want %+v", r, want)
		}
	})
	t.Run("only errors has zero latencies", func(t *testing.T) {
		r := summarize("create", nil, 3, time.Second)
		if r.Requests != 3 || r.Errors != 3 || r.P50 != 0 || r.Max != 0 {
			t.Fatalf("summarize = %+v", r)
		}
	})
}

func TestPerSecond(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		n        int
		from, to time.Time
		want     float64
	}{
		{"2000 jobs in 10s", 2000, t0, t0.Add(10 * time.Second), 200},
		{"half a second", 50, t0, t0.Add(500 * time.Millisecond), 100},
		{"an empty span is zero", 10, t0, t0, 0},
		{"a reversed span is zero", 10, t0, t0.Add(-time.Second), 0},
		{"nothing done is zero", 0, t0, t0.Add(time.Second), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := perSecond(tc.n, tc.from, tc.to); got != tc.want {
				t.Fatalf("perSecond = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	var e Errors
	e.Add("claim", "503")
	e.Add("claim", "503")
	e.Add("claim", "network")
	e.Add("complete", "409")
	snap := e.Snapshot()
	want := map[string]map[string]int{"claim": {"503": 2, "network": 1}, "complete": {"409": 1}}
	if len(snap) != len(want) || !maps.Equal(snap["claim"], want["claim"]) || !maps.Equal(snap["complete"], want["complete"]) {
		t.Fatalf("snapshot = %v, want %v", snap, want)
	}
	e.Add("claim", "503")
	if snap["claim"]["503"] != 2 {
		t.Fatal("a snapshot changed after a later Add")
	}
	if got := errorSummary(e.Snapshot()); got != "claim 503×3 network×1; complete 409×1" {
		t.Fatalf("errorSummary = %q", got)
	}
	if got := errorSummary(nil); got != "none" {
		t.Fatalf("errorSummary(nil) = %q", got)
	}
}

func TestAPIReason(t *testing.T) {
	wrapped := fmt.Errorf("create job: %w", &hubclient.APIError{Status: 403, Code: "permission_denied"})
	if got := apiReason(wrapped); got != "403" {
		t.Fatalf("apiReason(API error 403) = %q", got)
	}
	if got := apiReason(errors.New("connection refused")); got != "network" {
		t.Fatalf("apiReason(dial error) = %q", got)
	}
}

func TestStatusSummary(t *testing.T) {
	if got := statusSummary(map[string]int{"succeeded": 5}); got != "" {
		t.Fatalf("all succeeded: %q", got)
	}
	if got := statusSummary(map[string]int{"succeeded": 5, "running": 1, "failed": 2}); got != " (failed 2, running 1)" {
		t.Fatalf("some not: %q", got)
	}
}

func TestNoopPackageIsValid(t *testing.T) {
	data, err := NoopPackage("loadgen-noop", "1.0.1764220000")
	if err != nil {
		t.Fatal(err)
	}
	m, err := pkgstore.ValidateZip(bytes.NewReader(data), int64(len(data)), pkgstore.Limits{})
	if err != nil {
		t.Fatalf("the Hub would refuse the package: %v", err)
	}
	if m.Name != "loadgen-noop" || m.Version != "1.0.1764220000" || len(m.Entrypoint) != 1 || m.Entrypoint[0] != "/bin/true" {
		t.Fatalf("manifest = %+v", m)
	}
}

func TestPerThousand(t *testing.T) {
	if got := PerThousand(2.5, 1000); got != 2500 {
		t.Fatalf("2.5 CPU-s over 1,000 operations = %v ms per 1,000, want 2500", got)
	}
	if got := PerThousand(1, 0); got != 0 {
		t.Fatalf("without operations = %v, want 0", got)
	}
}
