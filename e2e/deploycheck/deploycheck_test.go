package deploycheck_test

import (
	"context"
	"maps"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/e2e/deploycheck"
	"github.com/exekra/hub/libs/config"
)

// root is the repository's top, from e2e/deploycheck.
var root = filepath.Join("..", "..")

func deployFile(parts ...string) string {
	return filepath.Join(append([]string{root, "deploy"}, parts...)...)
}

// jobs maps the scrape job names to the processes whose metrics they scrape.
var jobs = map[string]string{
	"exekra-gateway": "gateway", "exekra-identity": "identity", "exekra-licensing": "licensing",
	"exekra-runners": "runners", "exekra-audit": "audit", "exekra-hub": "supervisor",
}

func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	defined, err := deploycheck.DefinedMetrics(root)
	if err != nil {
		t.Fatal(err)
	}
	// The metrics docs/api.md names, and the certificate's, must be among them.
	for _, m := range []string{"exekra_http_requests_total", "exekra_http_request_duration_seconds", "exekra_nats_requests_total",
		"exekra_runners", "exekra_jobs_total", "exekra_queue_depth", "exekra_audit_events_total", "exekra_audit_lag_seconds",
		"exekra_license_expiry_timestamp_seconds", "exekra_tls_certificate_expiry_timestamp_seconds"} {
		if !defined[m] {
			t.Errorf("no Go source defines %s (found %d exekra_ metrics)", m, len(defined))
		}
	}
	return defined
}

var (
	alertName = regexp.MustCompile(`^Exekra[A-Z][A-Za-z0-9]+$`)
	duration  = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	// rawValue is $value printed as Prometheus formats a float: a ratio
	// as 0.0714…, a count extrapolated by delta() as 1.0714…, seconds as 1.2096e+06.
	rawValue = regexp.MustCompile(`\{\{-?\s*\$value\s*-?\}\}`)
)

func TestAlertingRules(t *testing.T) {
	var rules deploycheck.Rules
	if err := deploycheck.ReadYAML(deployFile("prometheus", "alerts.yml"), &rules); err != nil {
		t.Fatal(err)
	}
	defined := definedMetrics(t)
	if len(rules.Groups) == 0 {
		t.Fatal("alerts.yml has no group")
	}
	groups, alerts := map[string]bool{}, map[string]deploycheck.Rule{}
	for _, g := range rules.Groups {
		if g.Name == "" || groups[g.Name] || len(g.Rules) == 0 {
			t.Errorf("group %q: empty, unnamed or named twice", g.Name)
		}
		groups[g.Name] = true
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				if !alertName.MatchString(r.Alert) {
					t.Errorf("alert name %q is not ExekraCamelCase", r.Alert)
				}
				if _, dup := alerts[r.Alert]; dup {
					t.Errorf("alert %s is defined twice", r.Alert)
				}
				alerts[r.Alert] = r
				if strings.TrimSpace(r.Expr) == "" {
					t.Fatal("no expr")
				}
				if err := deploycheck.Balanced(r.Expr); err != nil {
					t.Errorf("expr %q: %v", r.Expr, err)
				}
				if !duration.MatchString(r.For) {
					t.Errorf("for %q is not a Prometheus duration", r.For)
				}
				if s := r.Labels["severity"]; s != "critical" && s != "warning" {
					t.Errorf("labels.severity = %q, want critical or warning", s)
				}
				for _, a := range []string{"summary", "description"} {
					text := r.Annotations[a]
					if strings.TrimSpace(text) == "" {
						t.Errorf("annotations.%s is empty", a)
					}
					if strings.Count(text, "{{") != strings.Count(text, "}}") {
						t.Errorf("annotations.%s has unbalanced templates: %q", a, text)
					}
					if rawValue.MatchString(text) {
						t.Errorf("annotations.%s prints $value raw (use humanize, humanizePercentage, humanizeDuration or printf): %q", a, text)
					}
				}
				for _, m := range deploycheck.MetricNames(r.Expr) {
					if !deploycheck.Defined(defined, m) {
						t.Errorf("expr uses %s, which no Go source defines", m)
					}
				}
			})
		}
	}

	t.Run("the alerts operators need are there", func(t *testing.T) {
		for what, match := range map[string]func(expr string) bool{
			"a process down (up == 0)": func(e string) bool { return strings.Contains(e, "up{") && strings.Contains(e, "== 0") },
			"audit lag high":           func(e string) bool { return strings.Contains(e, "exekra_audit_lag_seconds") },
			"queue growing": func(e string) bool {
				return strings.Contains(e, "exekra_queue_depth") && (strings.Contains(e, "deriv(") || strings.Contains(e, "delta("))
			},
			// A whole count: offline now less offline 15 minutes ago. delta()
			// extrapolates a gauge to the window's edges (1.0714… runners).
			"runners going offline": func(e string) bool {
				return strings.Contains(e, `exekra_runners{status="offline"}`) && strings.Contains(e, "offset 15m") && !strings.Contains(e, "delta(")
			},
			"license expiring": func(e string) bool {
				return strings.Contains(e, "exekra_license_expiry_timestamp_seconds") && strings.Contains(e, "14 * 86400")
			},
			"certificate expiring": func(e string) bool {
				return strings.Contains(e, "exekra_tls_certificate_expiry_timestamp_seconds") && strings.Contains(e, "14 * 86400")
			},
		} {
			if !slices.ContainsFunc(slices.Collect(maps.Values(alerts)), func(r deploycheck.Rule) bool { return match(r.Expr) }) {
				t.Errorf("no alert for %s", what)
			}
		}
	})
}

func TestScrapeConfigs(t *testing.T) {
	defaults := config.Default(t.TempDir())
	for _, tc := range []struct {
		file       string
		jobs       []string // the jobs it must have
		minTargets int      // per job
		loopback   bool     // every target is the process's default metrics address
	}{
		{"prometheus-pilot.yml", []string{"exekra-audit", "exekra-gateway", "exekra-hub", "exekra-identity", "exekra-licensing", "exekra-runners"}, 1, true},
		{"prometheus-enterprise.yml", []string{"exekra-audit", "exekra-gateway", "exekra-identity", "exekra-licensing", "exekra-runners"}, 2, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var cfg deploycheck.ScrapeConfig
			if err := deploycheck.ReadYAML(deployFile("prometheus", tc.file), &cfg); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{cfg.Global.ScrapeInterval, cfg.Global.EvaluationInterval} {
				if !duration.MatchString(d) {
					t.Errorf("global interval %q is not a duration", d)
				}
			}
			if !slices.Equal(cfg.RuleFiles, []string{"alerts.yml"}) {
				t.Errorf("rule_files = %v, want [alerts.yml]", cfg.RuleFiles)
			}
			if len(cfg.Targets()) != len(cfg.ScrapeConfigs) {
				t.Errorf("a job name is used twice")
			}
			for _, sc := range cfg.ScrapeConfigs {
				// The metrics ports refuse a scrape without the token of metrics.token_file.
				if a := sc.Authorization; a.Type != "Bearer" || !filepath.IsAbs(a.CredentialsFile) {
					t.Errorf("job %s: authorization %+v, want type Bearer with an absolute credentials_file", sc.JobName, a)
				}
			}
			var names []string
			for job, targets := range cfg.Targets() {
				names = append(names, job)
				process, ok := jobs[job]
				if !ok {
					t.Errorf("job %q is not one of %v (the alerts match up{job=~\"exekra-.*\"})", job, jobs)
					continue
				}
				if len(targets) < tc.minTargets {
					t.Errorf("job %s has %d targets, want at least %d", job, len(targets), tc.minTargets)
				}
				_, def := defaults.MetricsListen(process)
				_, defPort, _ := net.SplitHostPort(def)
				for _, target := range targets {
					host, port, err := net.SplitHostPort(target)
					if err != nil || host == "" {
						t.Errorf("job %s: target %q is not host:port", job, target)
						continue
					}
					if tc.loopback && target != def {
						t.Errorf("job %s: target %s, want the default %s.metrics_listen %s", job, target, process, def)
					}
					if port != defPort {
						t.Errorf("job %s: target %s, want the default port %s", job, target, defPort)
					}
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.jobs) {
				t.Errorf("jobs = %v, want %v", names, tc.jobs)
			}
		})
	}
}

func TestDashboard(t *testing.T) {
	d, err := deploycheck.ReadDashboard(deployFile("grafana", "exekra-hub.json"))
	if err != nil {
		t.Fatal(err)
	}
	defined := definedMetrics(t)
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard %q (uid %q) with %d panels", d.Title, d.UID, len(d.Panels))
	}
	ids := map[int]bool{}
	var exprs []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24 columns", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || !slices.Contains([]string{"stat", "timeseries", "gauge", "table", "bargauge"}, p.Type) {
			t.Errorf("panel %d: title %q, type %q", p.ID, p.Title, p.Type)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the dashboard's Prometheus variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.RefID == "" || refs[q.RefID] || strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q: query %q (refId %q) is empty or its refId is not unique", p.Title, q.Expr, q.RefID)
			}
			refs[q.RefID] = true
			if err := deploycheck.Balanced(q.Expr); err != nil {
				t.Errorf("panel %q: expr %q: %v", p.Title, q.Expr, err)
			}
			for _, m := range deploycheck.MetricNames(q.Expr) {
				if !deploycheck.Defined(defined, m) {
					t.Errorf("panel %q uses %s, which no Go source defines", p.Title, m)
				}
			}
			exprs = append(exprs, q.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for what, want := range map[string][]string{
		"the fleet by status":           {"exekra_runners", "by (status)"},
		"jobs by status (rate)":         {"rate(exekra_jobs_total", "by (status)"},
		"HTTP latency p50 by route":     {"histogram_quantile(0.5,", "exekra_http_request_duration_seconds_bucket", "by (le, route)"},
		"HTTP latency p99 by route":     {"histogram_quantile(0.99,"},
		"audit events rate and lag":     {"rate(exekra_audit_events_total", "exekra_audit_lag_seconds"},
		"license expiry":                {"exekra_license_expiry_timestamp_seconds", "- time()"},
		"queue depth":                   {"exekra_queue_depth"},
		"certificate expiry":            {"exekra_tls_certificate_expiry_timestamp_seconds"},
		"processes up (scrape success)": {`up{job=~"exekra-.*"}`},
	} {
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("no panel shows %s (no query has %q)", what, w)
			}
		}
	}
}

// TestPromtool runs promtool on the files when it is installed; the checks
// above stand in for it otherwise.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus); the structural checks above still ran")
	}
	for _, args := range [][]string{
		{"check", "rules", deployFile("prometheus", "alerts.yml")},
		{"test", "rules", deployFile("prometheus", "alerts_test.yml")},
		{"check", "config", deployFile("prometheus", "prometheus-pilot.yml")},
		{"check", "config", deployFile("prometheus", "prometheus-enterprise.yml")},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
