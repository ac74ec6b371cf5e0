package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// series is one sample of a scrape: name and labels, and its value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is one /metrics answer of one process.
type scrape struct {
	families map[string]string // # TYPE: name -> counter|gauge|histogram...
	series   []series
	raw      string
}

// sum adds the samples of name whose labels include every pair of match.
func (s scrape) sum(name string, match map[string]string) (float64, bool) {
	var total float64
	found := false
next:
	for _, x := range s.series {
		if x.name != name {
			continue
		}
		for k, v := range match {
			if x.labels[k] != v {
				continue next
			}
		}
		total += x.value
		found = true
	}
	return total, found
}

// has reports whether a metric family or a series of that name was served.
func (s scrape) has(name string) bool {
	if _, ok := s.families[name]; ok {
		return true
	}
	for _, x := range s.series {
		if x.name == name {
			return true
		}
	}
	return false
}

// metricsProcesses are the processes of a pilot and their metrics addresses' keys.
var metricsProcesses = map[string]string{
	"gateway": "EXEKRA_GATEWAY_METRICS_LISTEN", "identity": "EXEKRA_IDENTITY_METRICS_LISTEN",
	"licensing": "EXEKRA_LICENSING_METRICS_LISTEN", "runners": "EXEKRA_RUNNERS_METRICS_LISTEN",
	"audit": "EXEKRA_AUDIT_METRICS_LISTEN", "supervisor": "EXEKRA_SUPERVISOR_METRICS_LISTEN",
}

var plain = &http.Client{Timeout: 10 * time.Second}

// metricsGet GETs path on a process's metrics port without credentials (as
// the load balancer and the supervisor probe /livez and /readyz).
func (h *hub) metricsGet(t testing.TB, process, path string) (int, string) {
	t.Helper()
	return h.metricsGetAs(t, process, path, "")
}

// metricsToken is the bearer token the supervisor made in the pilot's
// metrics.token_file (the default, beside the bus keys).
func (h *hub) metricsToken(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.home, "var", "credentials", "metrics.token"))
	if err != nil {
		t.Fatalf("the pilot's metrics token: %v", err)
	}
	return strings.TrimSpace(string(raw))
}

// metricsGetAs GETs path on a process's metrics port with the Authorization
// header auth (none when empty).
func (h *hub) metricsGetAs(t testing.TB, process, path, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+h.env[metricsProcesses[process]]+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", process, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", process, path, err)
	}
	return resp.StatusCode, string(body)
}

func (h *hub) scrape(t testing.TB, process string) scrape {
	t.Helper()
	code, body := h.metricsGetAs(t, process, "/metrics", "Bearer "+h.metricsToken(t))
	if code != http.StatusOK {
		t.Fatalf("%s /metrics = %d", process, code)
	}
	s, err := parseMetrics(body)
	if err != nil {
		t.Fatalf("%s /metrics: %v", process, err)
	}
	return s
}

func (h *hub) scrapeAll(t testing.TB) map[string]scrape {
	t.Helper()
	out := map[string]scrape{}
	for p := range metricsProcesses {
		out[p] = h.scrape(t, p)
	}
	return out
}

// parseMetrics reads the Prometheus text format.
func parseMetrics(text string) (scrape, error) {
	s := scrape{families: map[string]string{}, raw: text}
	for n, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			s.families[f[2]] = f[3]
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		x, err := parseSeries(line)
		if err != nil {
			return s, fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
		s.series = append(s.series, x)
	}
	return s, nil
}

func parseSeries(line string) (series, error) {
	x := series{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return x, fmt.Errorf("no name")
	}
	x.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, ", ")
			if strings.HasPrefix(line, "}") {
				line = line[1:]
				break
			}
			eq := strings.Index(line, `="`)
			if eq <= 0 {
				return x, fmt.Errorf("bad label")
			}
			key, rest := line[:eq], line[eq+2:]
			var val strings.Builder
			j := 0
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					if rest[j] == 'n' {
						val.WriteByte('\n')
						continue
					}
				}
				val.WriteByte(rest[j])
			}
			if j == len(rest) {
				return x, fmt.Errorf("unterminated label value")
			}
			x.labels[key], line = val.String(), rest[j+1:]
		}
	}
	f := strings.Fields(line)
	if len(f) < 1 {
		return x, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return x, err
	}
	x.value = v
	return x, nil
}

var uuidRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// apiMetrics are the metrics docs/api.md promises, with the process that serves each.
var apiMetrics = []struct{ process, name string }{
	{"gateway", "exekra_http_requests_total"},
	{"gateway", "exekra_http_request_duration_seconds"},
	{"gateway", "exekra_nats_requests_total"},
	{"identity", "exekra_nats_requests_total"},
	{"licensing", "exekra_nats_requests_total"},
	{"runners", "exekra_nats_requests_total"},
	{"audit", "exekra_nats_requests_total"},
	{"runners", "exekra_runners"},
	{"runners", "exekra_jobs_total"},
	{"runners", "exekra_queue_depth"},
	{"runners", "exekra_schedule_fires_total"},
	{"runners", "exekra_schedule_fire_lag_seconds"},
	{"runners", "exekra_schedules"},
	{"audit", "exekra_audit_events_total"},
	{"audit", "exekra_audit_lag_seconds"},
	{"licensing", "exekra_license_expiry_timestamp_seconds"},
	{"gateway", "exekra_tls_certificate_expiry_timestamp_seconds"},
}

// TestMetrics drives real traffic through a licensed pilot and reads every
// process's metrics port before and after: every metric of docs/api.md is served
// and moves, label values are templates (no ids), /readyz is 200 everywhere
// and 503 naming Redis on the processes that need it while Redis hangs.
func TestMetrics(t *testing.T) {
	began := time.Now()
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	t.Logf("licensed pilot up in %s", time.Since(began).Round(time.Millisecond))

	t.Run("metrics and pprof refuse a local client without the token", func(t *testing.T) {
		checkMetricsNeedTheToken(t, h)
	})
	t.Run("every process is live and ready, without a token", func(t *testing.T) {
		for p := range metricsProcesses {
			if code, body := h.metricsGet(t, p, "/livez"); code != http.StatusOK {
				t.Errorf("%s /livez = %d %q", p, code, body)
			}
			code, body := h.metricsGet(t, p, "/readyz")
			var rep struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusOK || rep.Status != "ready" {
				t.Errorf("%s /readyz = %d %q", p, code, body)
			}
			if p != "supervisor" && rep.Checks["nats"] != "up" {
				t.Errorf("%s /readyz checks no NATS: %q", p, body)
			}
		}
	})

	before := h.scrapeAll(t)
	admin := h.as(adminTok)
	login(t, h, strings.ToLower(adminEmail), goodPassword)
	admin.must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": strings.ToLower(adminEmail), "password": "wrong password!"})
	admin.must(http.StatusOK, "GET", "/api/v1/runners", nil)
	runnerID, secret := registerRunner(t, h, adminTok, "metrics-runner")
	admin.must(http.StatusOK, "GET", "/api/v1/runners/"+runnerID, nil)
	if code := heartbeatAs(t, h.gateway, runnerID, secret); code != http.StatusOK {
		t.Fatalf("heartbeat = %d", code)
	}
	if code, raw := publish(t, h, adminTok, packageZip(t, "metrics", "1.0.0", "echo metrics\n")); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	// The runner heartbeats once and never claims: the job stays pending.
	jobID := startJob(t, h, adminTok, "metrics", nil)
	admin.must(http.StatusOK, "GET", "/api/v1/jobs/"+jobID, nil)
	ids := []string{runnerID, jobID}

	// Counters move at once; gauges within their refresh (the runner census
	// every 15 s, the queue depth every 2 s) and the audit log once the relays ran.
	var after map[string]scrape
	var missing []string
	waited := time.Now()
	deadline := waited.Add(25 * time.Second)
	for {
		after = h.scrapeAll(t)
		missing = moved(before, after)
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, m := range missing {
		t.Errorf("did not move: %s", m)
	}
	t.Logf("every metric moved within %s of the traffic", time.Since(waited).Round(time.Millisecond))

	t.Run("every metric docs/api.md names is served", func(t *testing.T) {
		for _, m := range apiMetrics {
			if !after[m.process].has(m.name) {
				t.Errorf("%s does not serve %s", m.process, m.name)
			}
		}
		for p, s := range after {
			if !s.has("exekra_process_info") || !s.has("process_start_time_seconds") {
				t.Errorf("%s lacks exekra_process_info or the process collector", p)
			}
		}
	})
	t.Run("metrics follow Prometheus naming", func(t *testing.T) {
		for p, s := range after {
			for name, typ := range s.families {
				if !strings.HasPrefix(name, "exekra_") {
					continue
				}
				if (typ == "counter") != strings.HasSuffix(name, "_total") {
					t.Errorf("%s: %s is a %s: counters, and only counters, end in _total", p, name, typ)
				}
			}
		}
	})
	t.Run("label values are templates, never ids", func(t *testing.T) {
		for p, s := range after {
			for _, x := range s.series {
				for k, v := range x.labels {
					if uuidRE.MatchString(v) {
						t.Errorf("%s: %s{%s=%q} holds an id", p, x.name, k, v)
					}
					if k == "route" && v != "unmatched" && !strings.HasPrefix(v, "/") {
						t.Errorf("%s: route label %q", p, v)
					}
				}
			}
			for _, id := range ids {
				if strings.Contains(s.raw, id) {
					t.Errorf("%s /metrics mentions id %s", p, id)
				}
			}
		}
		if _, ok := after["gateway"].sum("exekra_http_requests_total", map[string]string{"route": "/api/v1/runners/:id", "method": "GET"}); !ok {
			t.Error("GET /api/v1/runners/{id} is not counted under its template /api/v1/runners/:id")
		}
	})
	t.Run("gauges hold sane values", func(t *testing.T) {
		licExpiry, _ := after["licensing"].sum("exekra_license_expiry_timestamp_seconds", nil)
		if left := time.Until(time.Unix(int64(licExpiry), 0)); left < 364*24*time.Hour || left > 366*24*time.Hour {
			t.Errorf("license expires in %s, want about a year", left) // as the vendor issued it
		}
		expiry, _ := after["gateway"].sum("exekra_tls_certificate_expiry_timestamp_seconds", nil)
		if left := time.Until(time.Unix(int64(expiry), 0)); left < 700*24*time.Hour || left > 731*24*time.Hour {
			t.Errorf("certificate expires in %s, want the self-signed two years", left)
		}
		lag, ok := after["audit"].sum("exekra_audit_lag_seconds", nil)
		if !ok || lag < 0 || lag > 60 || math.IsNaN(lag) {
			t.Errorf("exekra_audit_lag_seconds = %v", lag)
		}
		for _, child := range []string{"identity", "licensing", "runners", "audit", "gateway", "redis", "postgres"} {
			if up, _ := after["supervisor"].sum("exekra_supervisor_child_up", map[string]string{"child": child}); up != 1 {
				t.Errorf("exekra_supervisor_child_up{child=%q} = %v", child, up)
			}
		}
	})
	t.Run("every metric the alerts and the dashboard use is served", func(t *testing.T) {
		checkDeployMetrics(t, after)
	})
	t.Run("promtool check metrics passes on the licensing scrape", func(t *testing.T) {
		checkPromtoolMetrics(t, after["licensing"].raw)
	})
	t.Run("readyz names Redis while it hangs, and recovers", func(t *testing.T) {
		checkReadyzFollowsRedis(t, h)
	})
	t.Logf("TestMetrics took %s", time.Since(began).Round(time.Millisecond))
}

// checkMetricsNeedTheToken: a client on the Hub's own machine gets 401 from
// /metrics and pprof of every process of the pilot (the supervisor's port
// too) without the token, with another one or with it as Basic credentials,
// and 200 with it; each refusal is counted on the process's own registry.
func checkMetricsNeedTheToken(t *testing.T, h *hub) {
	token := h.metricsToken(t)
	if len(token) != 64 {
		t.Errorf("the pilot's metrics token has %d characters, want 64 (32 bytes in hex)", len(token))
	}
	wrong := []string{"", "Bearer " + strings.Repeat("0", len(token)), "Bearer " + token[:len(token)-1],
		"Basic " + base64.StdEncoding.EncodeToString([]byte("prometheus:"+token)), token}
	for p := range metricsProcesses {
		for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"} {
			for i, auth := range wrong {
				code, body := h.metricsGetAs(t, p, path, auth)
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				json.Unmarshal([]byte(body), &e)
				if code != http.StatusUnauthorized || e.Error.Code != "unauthenticated" {
					t.Errorf("%s %s with wrong credentials #%d = %d %.80q, want 401 unauthenticated", p, path, i, code, body)
				}
			}
			if code, body := h.metricsGetAs(t, p, path, "Bearer "+token); code != http.StatusOK {
				t.Errorf("%s %s with the token = %d %.80q, want 200", p, path, code, body)
			}
		}
		// 4 paths x 5 wrong credentials: 1 x 5 on /metrics, 3 x 5 on pprof.
		s := h.scrape(t, p)
		if n, _ := s.sum("exekra_metrics_refused_total", map[string]string{"endpoint": "metrics"}); n < 5 {
			t.Errorf("%s counted %v refusals of /metrics, want >= 5", p, n)
		}
		if n, _ := s.sum("exekra_metrics_refused_total", map[string]string{"endpoint": "pprof"}); n < 15 {
			t.Errorf("%s counted %v refusals of pprof, want >= 15", p, n)
		}
	}
}

// moved lists what did not move between the two scrapes.
func moved(before, after map[string]scrape) []string {
	var out []string
	rose := func(process, name string, match map[string]string, by float64) {
		b, _ := before[process].sum(name, match)
		a, ok := after[process].sum(name, match)
		if !ok || a-b < by {
			out = append(out, fmt.Sprintf("%s %s%v rose by %v, want >= %v", process, name, match, a-b, by))
		}
	}
	atLeast := func(process, name string, match map[string]string, min float64) {
		if a, _ := after[process].sum(name, match); a < min {
			out = append(out, fmt.Sprintf("%s %s%v = %v, want >= %v", process, name, match, a, min))
		}
	}
	login := map[string]string{"route": "/api/v1/auth/login", "method": "POST"}
	rose("gateway", "exekra_http_requests_total", map[string]string{"route": "/api/v1/auth/login", "method": "POST", "code": "200"}, 1)
	rose("gateway", "exekra_http_requests_total", map[string]string{"route": "/api/v1/auth/login", "method": "POST", "code": "401"}, 1)
	rose("gateway", "exekra_http_request_duration_seconds_count", map[string]string{"route": login["route"]}, 2)
	rose("gateway", "exekra_http_requests_total", map[string]string{"route": "/api/v1/runners", "method": "GET", "code": "200"}, 1)
	rose("gateway", "exekra_http_requests_total", map[string]string{"route": "/api/v1/runner/heartbeat", "method": "POST", "code": "200"}, 1)
	rose("gateway", "exekra_http_requests_total", map[string]string{"route": "/api/v1/packages", "method": "POST", "code": "201"}, 1)
	rose("gateway", "exekra_http_requests_total", map[string]string{"route": "/api/v1/jobs", "method": "POST", "code": "201"}, 1)
	rose("gateway", "exekra_nats_requests_total", map[string]string{"outcome": "ok"}, 6)
	rose("gateway", "exekra_nats_requests_total", map[string]string{"outcome": "invalid_credentials"}, 1)
	rose("identity", "exekra_nats_requests_total", map[string]string{"outcome": "ok"}, 1)
	rose("runners", "exekra_nats_requests_total", map[string]string{"outcome": "ok"}, 4)
	rose("licensing", "exekra_nats_requests_total", map[string]string{"outcome": "ok"}, 1) // runner.register and job.create check the license
	rose("runners", "exekra_jobs_total", map[string]string{"status": "pending"}, 1)
	atLeast("runners", "exekra_queue_depth", map[string]string{"environment": "Development"}, 1)
	atLeast("runners", "exekra_runners", map[string]string{"environment": "Development", "status": "online"}, 1)
	// login success and failure, runner.register, package.publish, job.create
	rose("audit", "exekra_audit_events_total", nil, 5)
	return out
}

var metricNameRE = regexp.MustCompile(`\bexekra_[a-z0-9_]+`)

// checkDeployMetrics finds every exekra_* name in the Prometheus rules and the
// Grafana dashboard among the served series.
func checkDeployMetrics(t *testing.T, scrapes map[string]scrape) {
	t.Helper()
	served := func(name string) bool {
		for _, s := range scrapes {
			if s.has(name) {
				return true
			}
		}
		return false
	}
	for _, f := range []string{"../deploy/prometheus/alerts.yml", "../deploy/grafana/exekra-hub.json"} {
		data, err := os.ReadFile(filepath.FromSlash(f))
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, n := range metricNameRE.FindAllString(string(data), -1) {
			names[n] = true
		}
		if len(names) == 0 {
			t.Errorf("%s names no exekra_ metric", f)
		}
		var unknown []string
		for n := range names {
			if !served(n) {
				unknown = append(unknown, n)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("%s uses metrics no process serves: %v", f, unknown)
		}
	}
}

// checkPromtoolMetrics runs promtool check metrics (when installed) on a
// scrape; only exekra_license_days_remaining, kept one release after its
// rename, may be flagged.
func checkPromtoolMetrics(t *testing.T, raw string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(raw)
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics: %v\n%s", err, out)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.HasPrefix(line, "exekra_license_days_remaining ") {
			t.Errorf("promtool check metrics: %s", line)
		}
	}
}

// checkReadyzFollowsRedis stops the pilot's redis-server (SIGSTOP: it holds
// connections and answers nothing) and expects /readyz 503 naming redis on the
// gateway and the runners service while licensing, which needs no Redis,
// stays ready; SIGCONT brings every /readyz back to 200.
func checkReadyzFollowsRedis(t *testing.T, h *hub) {
	pid := h.pidOf("redis-server")
	if pid <= 0 {
		t.Fatal("no redis-server process of this hub")
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	readyz := func(p string) (int, map[string]any) {
		code, body := h.metricsGet(t, p, "/readyz")
		var rep map[string]any
		json.Unmarshal([]byte(body), &rep)
		return code, rep
	}
	for _, p := range []string{"gateway", "runners"} {
		waitFor(t, 15*time.Second, p+" /readyz 503 naming redis", func() bool {
			code, rep := readyz(p)
			down, _ := rep["down"].([]any)
			return code == http.StatusServiceUnavailable && rep["status"] == "not_ready" && len(down) == 1 && down[0] == "redis"
		})
	}
	if code, rep := readyz("licensing"); code != http.StatusOK {
		t.Errorf("licensing /readyz with Redis stopped = %d %v, want 200: it uses no Redis", code, rep)
	}
	resume()
	for p := range metricsProcesses {
		waitFor(t, 15*time.Second, p+" /readyz 200 again", func() bool {
			code, _ := readyz(p)
			return code == http.StatusOK
		})
	}
}
