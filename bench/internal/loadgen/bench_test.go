package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b float64
		want float64
	}{
		{"half of the floor", 500, 1000, 0.5},
		{"above the floor", 1500, 1000, 1.5},
		{"no floor is not comparable", 500, 0, 0},
		{"a negative floor is not comparable", 500, -1, 0},
		{"nothing over a floor is zero", 0, 1000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Ratio(tc.a, tc.b); got != tc.want {
				t.Fatalf("Ratio(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestThroughput(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Result
		want float64
	}{
		{"successful calls per second", Result{Requests: 210, Errors: 10, Duration: 2 * time.Second}, 100},
		{"no span is zero", Result{Requests: 10}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Throughput(tc.r); got != tc.want {
				t.Fatalf("Throughput = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompareToFloor(t *testing.T) {
	floor := BenchRow{Operation: "floor", Closed: true, PerSecond: 1000, P99: 10 * time.Millisecond}
	rows := CompareToFloor(floor, []BenchRow{
		floor,
		{Operation: "api-reads", Closed: true, PerSecond: 800, P99: 20 * time.Millisecond},
		{Operation: "heartbeat", PerSecond: 66, P99: 120 * time.Millisecond},
		{Operation: "pickup", PerSecond: 20, P99: 5 * time.Millisecond, Errors: 1},
		{Operation: "jobs-e2e", Closed: true, PerSecond: 1000, P99: 50 * time.Millisecond, CPUPerOp: 3},
		{Operation: "job-create", Closed: true, PerSecond: 250, P99: 40 * time.Millisecond},
		{Operation: "jobs-e2e", Closed: true, PerSecond: 1200, P99: 50 * time.Millisecond, CPUPerOp: 3.1},
		{Operation: "jobs-e2e", Closed: true, PerSecond: 1200, P99: 50 * time.Millisecond},
	})
	for _, tc := range []struct {
		name            string
		row             BenchRow
		vsFloor, p99vsF float64
		met             string
	}{
		{"the floor is 100% of itself and has no target", rows[0], 1, 1, ""},
		{"api reads at exactly 80% meet the target", rows[1], 0.8, 2, "yes"},
		{"an open load has no throughput ratio; p99 over 100ms misses", rows[2], 0, 12, "no"},
		{"a row with errors does not meet its target", rows[3], 0, 0.5, "no"},
		{"1,000 jobs/s at 3 CPU-ms a job meet the target", rows[4], 1, 5, "yes"},
		{"a row without a target has no verdict", rows[5], 0.25, 4, ""},
		{"jobs over 3 CPU-ms each miss, however fast", rows[6], 1.2, 5, "no"},
		{"jobs whose CPU was not measured miss", rows[7], 1.2, 5, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.row
			if r.VsFloor != tc.vsFloor || r.P99VsFloor != tc.p99vsF || r.Met != tc.met {
				t.Fatalf("%s: vs floor %v, p99/floor %v, met %q; want %v, %v, %q",
					r.Operation, r.VsFloor, r.P99VsFloor, r.Met, tc.vsFloor, tc.p99vsF, tc.met)
			}
			if (r.Met == "") != (r.Target == "") {
				t.Fatalf("%s: target %q with verdict %q", r.Operation, r.Target, r.Met)
			}
		})
	}
}

func TestPrintBench(t *testing.T) {
	floor := BenchRow{Operation: "floor", Load: "closed 64", Closed: true, Requests: 20000, PerSecond: 1000,
		P50: 3 * time.Millisecond, P99: 10 * time.Millisecond}
	rows := CompareToFloor(floor, []BenchRow{floor,
		{Operation: "api-reads", Load: "closed 64", Closed: true, Requests: 9000, PerSecond: 450,
			P50: 7 * time.Millisecond, P99: 25 * time.Millisecond, HubCPU: 812.34}})
	var buf bytes.Buffer
	PrintBench(&buf, rows)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header, 2 rows and JSON, got:\n%s", buf.String())
	}
	for _, want := range []string{"api-reads", "closed 64", "450.0", "45%", "2.5×", "812.3", "no", "≥ 80%"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("api-reads row %q lacks %q", lines[2], want)
		}
	}
	if !strings.Contains(lines[1], "100%") || !strings.Contains(lines[1], " - ") {
		t.Errorf("floor row %q: want 100%% of itself and no CPU", lines[1])
	}
	var out struct{ Bench []BenchRow }
	if err := json.Unmarshal([]byte(lines[3]), &out); err != nil || len(out.Bench) != 2 || out.Bench[1].VsFloor != 0.45 {
		t.Fatalf("JSON line %s: %v", lines[3], err)
	}
}

func TestClosedLoop(t *testing.T) {
	t.Run("every client calls back to back and failures are counted", func(t *testing.T) {
		calls := make([]int, 4)
		r := ClosedLoop(context.Background(), "fake", 4, 100*time.Millisecond, func(ctx context.Context, client int) error {
			calls[client]++ // one goroutine per client: no race
			time.Sleep(time.Millisecond)
			if client == 3 {
				return errors.New("refused")
			}
			return nil
		})
		for i, n := range calls {
			if n < 10 {
				t.Fatalf("client %d made %d calls in 100ms, want back to back", i, n)
			}
		}
		if r.Operation != "fake" || r.Errors == 0 || r.Requests <= r.Errors || r.P50 < time.Millisecond {
			t.Fatalf("result = %+v", r)
		}
		// The span is the run's: about the 100 ms asked for (timers on a busy
		// VM have been seen to fire a millisecond early, so not to the µs).
		if r.Duration < 90*time.Millisecond || r.Duration > 2*time.Second || Throughput(r) <= 0 {
			t.Fatalf("span %v, throughput %v", r.Duration, Throughput(r))
		}
	})
}

func TestCPUPerOp(t *testing.T) {
	tree := map[string]float64{"exekra-runners": 1.2, "postgres": 0.9, "redis-server": 0.3}
	if got := CPUPerOp(tree, 1000); got < 2.399 || got > 2.401 {
		t.Fatalf("CPUPerOp = %v, want 2.4 ms", got)
	}
	if got := CPUBreakdown(tree, 1000); got != "exekra-runners 1.20, postgres 0.90, redis-server 0.30" {
		t.Fatalf("CPUBreakdown = %q", got)
	}
	if CPUPerOp(nil, 10) != 0 || CPUPerOp(tree, 0) != 0 {
		t.Fatal("no tree or no operations is not measured (0)")
	}
}

func TestHeartbeatVerdict(t *testing.T) {
	good := BenchRow{Operation: "heartbeat", PerSecond: 1667, P99: 40 * time.Millisecond, HubMemory: 1 << 30}
	for _, tc := range []struct {
		name    string
		runners int
		memory  int64
		met     string
	}{
		{"good numbers at 10,000 runners are not the target", 10000, 1 << 30, "no"},
		{"one runner short of 25,000 is not the target", HeartbeatRunnersTarget - 1, 1 << 30, "no"},
		{"good numbers at 25,000 runners meet it", 25000, 1 << 30, "yes"},
		{"2 GiB of Hub memory at 25,000 runners misses", 25000, 2 << 30, "no"},
		{"unmeasured memory misses", 25000, 0, "no"},
		{"no runner count misses", 0, 1 << 30, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			r.Runners, r.HubMemory = tc.runners, tc.memory
			got := CompareToFloor(BenchRow{}, []BenchRow{r})[0]
			if got.Met != tc.met || got.Target != "p99 < 100ms at 25,000 runners, Hub memory < 2 GiB" {
				t.Fatalf("met %q, target %q; want %q", got.Met, got.Target, tc.met)
			}
		})
	}
}

func TestSaturationRow(t *testing.T) {
	clean := []BenchRow{
		{Operation: "floor", Requests: 100},
		{Operation: "heartbeat", Requests: 100, Runners: 25000},
		{Operation: "jobs-e2e", Requests: 100},
	}
	withError := slices.Clone(clean)
	withError[1].Errors = 1
	for _, tc := range []struct {
		name         string
		rows         []BenchRow
		notSucceeded int
		errors       int
		met          string
	}{
		{"no errors anywhere is met", clean, 0, 0, "yes"},
		{"one row with an error misses", withError, 0, 1, "no"},
		{"a job read back as not succeeded misses", clean, 2, 2, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := SaturationRow(tc.rows, 4, tc.notSucceeded)
			if r.Operation != "saturation" || r.Met != tc.met || r.Errors != tc.errors ||
				r.Target != "0 errors in every part beside 4 busy processes" {
				t.Fatalf("row = %+v; want met %q with %d errors", r, tc.met, tc.errors)
			}
		})
	}
	t.Run("without busy processes nothing is added", func(t *testing.T) {
		if got := WithSaturation(withError, 0, 0); len(got) != len(withError) {
			t.Fatalf("%d rows, want %d", len(got), len(withError))
		}
	})
	t.Run("with busy processes the row is printed last", func(t *testing.T) {
		rows := WithSaturation(clean, 4, 0)
		if len(rows) != len(clean)+1 || rows[len(clean)].Operation != "saturation" || len(clean) != 3 {
			t.Fatalf("rows = %+v", rows)
		}
		var buf bytes.Buffer
		PrintBench(&buf, rows)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if last := lines[len(lines)-2]; !strings.HasPrefix(last, "saturation") || !strings.Contains(last, "yes") ||
			!strings.Contains(last, "beside 4 busy processes") {
			t.Fatalf("saturation line %q", last)
		}
	})
}

func TestFailoverVerdict(t *testing.T) {
	rep := FailoverReport{Runners: 200, Moved: 97,
		Answered: Result{Operation: "failover", Requests: 200, P50: 40 * time.Millisecond, P99: 3200 * time.Millisecond, Max: 3300 * time.Millisecond},
		Verify:   Verification{Checked: 200, Succeeded: 200}}
	for _, tc := range []struct {
		name   string
		change func(*FailoverReport)
		errors int
		met    string
	}{
		{"every job within 5 s of the kill meets it", func(*FailoverReport) {}, 0, "yes"},
		{"the last job 5 s after the kill misses", func(r *FailoverReport) { r.Answered.Max = FailoverTarget }, 0, "no"},
		{"no claim moved measured nothing", func(r *FailoverReport) { r.Moved = 0 }, 0, "no"},
		{"a job that never reached its runner misses", func(r *FailoverReport) { r.Answered.Errors, r.Answered.Requests = 1, 201 }, 1, "no"},
		{"a failed claim misses", func(r *FailoverReport) { r.Errors = map[string]map[string]int{"claim": {"503": 2}} }, 2, "no"},
		{"a job read back as not succeeded misses", func(r *FailoverReport) { r.Verify.Succeeded, r.Verify.NotSucceeded = 199, 1 }, 1, "no"},
		{"a failed creation counts once", func(r *FailoverReport) {
			r.Answered.Errors, r.Errors = 1, map[string]map[string]int{"create": {"503": 1}}
		}, 1, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rep
			tc.change(&r)
			got := CompareToFloor(BenchRow{}, []BenchRow{FailoverRow(r, 2)})[0]
			if got.Met != tc.met || got.Errors != tc.errors || got.Load != "kill 1 of 2" ||
				got.Target != "claims of a killed runners instance answered within 5s" {
				t.Fatalf("row %+v; want met %q with %d errors", got, tc.met, tc.errors)
			}
		})
	}
}

func TestSampleSum(t *testing.T) {
	const text = `# HELP exekra_gateway_claims_sent_again_total Claims sent again.
# TYPE exekra_gateway_claims_sent_again_total counter
exekra_gateway_claims_sent_again_total{reason="answer_lost"} 2
exekra_gateway_claims_sent_again_total{reason="instance_gone",note="a } in a label"} 95
exekra_gateway_claims_sent_again_total_other 1000
exekra_gateway_runners_instances 2
process_cpu_seconds_total 12.5
`
	for metric, want := range map[string]float64{
		"exekra_gateway_claims_sent_again_total": 97,
		"exekra_gateway_runners_instances":       2,
		"process_cpu_seconds_total":              12.5,
		"exekra_gateway":                         0,
		"not_there":                              0,
	} {
		if got := sampleSum(strings.NewReader(text), metric); got != want {
			t.Errorf("sampleSum(%s) = %v; want %v", metric, got, want)
		}
	}
}
