package deploycheck_test

import (
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/e2e/deploycheck"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/pkgstore"
)

// backends are the services that own a database.
var backends = []string{"identity", "licensing", "runners", "audit"}

// enterpriseConfig loads deploy/enterprise/hub-config.json with hub.env and
// <service>.env as that service's process would, so an unknown key or
// variable, or a value of the wrong type, fails here.
func enterpriseConfig(t *testing.T, service string) *config.Config {
	t.Helper()
	home := t.TempDir()
	data, err := os.ReadFile(deployFile("enterprise", "hub-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	if err := os.WriteFile(filepath.Join(home, config.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, f := range []string{"hub.env", service + ".env"} {
		vars, err := deploycheck.EnvFile(deployFile("enterprise", "env", f))
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, vars...)
	}
	cfg, err := config.Load(home, env)
	if err != nil {
		t.Fatalf("%s: %v", service, err)
	}
	return cfg
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil {
		t.Fatalf("%q is not host:port", addr)
	}
	return n
}

func TestEnterpriseSettings(t *testing.T) {
	defaults := config.Default(t.TempDir())
	users := map[string]string{}
	for _, s := range append(slices.Clone(backends), "gateway") {
		t.Run(s, func(t *testing.T) {
			cfg := enterpriseConfig(t, s)
			if cfg.Audit.StreamReplicas != 3 {
				t.Errorf("audit.stream_replicas = %d, want 3 (three NATS nodes)", cfg.Audit.StreamReplicas)
			}
			if cfg.TLS.SelfSigned {
				t.Error("tls.self_signed: every gateway must serve the shared certificate, not make its own")
			}
			if len(cfg.Gateway.TrustedProxies) == 0 {
				t.Error("gateway.trusted_proxies is empty: behind a load balancer every client would have its address")
			}
			if cfg.Database.URL != "" {
				t.Error("database.url is set: each service has its own connection string")
			}
			for _, p := range []string{"gateway", "identity", "licensing", "runners", "audit"} {
				_, got := cfg.MetricsListen(p)
				_, def := defaults.MetricsListen(p)
				if portOf(t, got) != portOf(t, def) {
					t.Errorf("%s.metrics_listen %s: prometheus-enterprise.yml scrapes port %d", p, got, portOf(t, def))
				}
			}
			nats := strings.Split(cfg.NATS.URL, ",")
			if len(nats) != 3 {
				t.Errorf("nats.url names %d servers, want the three nodes", len(nats))
			}
			if cfg.Redis.URL == "" {
				t.Error("redis.url is empty")
			}
			if s == "gateway" {
				return
			}
			u, err := url.Parse(cfg.DatabaseURL(s))
			if err != nil || u.Scheme != "postgres" {
				t.Fatalf("database.%s_url %q: %v", s, cfg.DatabaseURL(s), err)
			}
			q := u.Query()
			if q.Get("sslmode") != "verify-full" || q.Get("sslrootcert") == "" {
				t.Errorf("database.%s_url: sslmode %q, sslrootcert %q: want verify-full with a CA", s, q.Get("sslmode"), q.Get("sslrootcert"))
			}
			if !strings.HasPrefix(q.Get("sslrootcert"), "/opt/exekra/hub/config/") {
				t.Errorf("sslrootcert %s: the service (user exekra) reads it; /etc/exekra is root's", q.Get("sslrootcert"))
			}
			want := "exekra_" + s
			if u.User.Username() != want || u.Path != "/"+want {
				t.Errorf("database.%s_url connects as %q to %q, want %s to %s (create-databases.sql)", s, u.User.Username(), u.Path, want, want)
			}
			users[s] = u.User.Username()
		})
	}
	sql, err := os.ReadFile(deployFile("enterprise", "postgres", "create-databases.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for s, role := range users {
		for _, stmt := range []string{"CREATE ROLE " + role + " LOGIN PASSWORD :'" + s + "_password'",
			"CREATE DATABASE " + role + " OWNER " + role, "REVOKE ALL ON DATABASE " + role + " FROM PUBLIC"} {
			if !strings.Contains(string(sql), stmt) {
				t.Errorf("create-databases.sql lacks %q", stmt)
			}
		}
	}
	if !strings.Contains(string(sql), "GRANT exekra_audit_writer TO exekra_audit") {
		t.Error("create-databases.sql does not grant the audit writer role to the audit service's role")
	}
}

func TestEnterpriseLoadBalancers(t *testing.T) {
	cfg := enterpriseConfig(t, "gateway")
	gatewayPort := portOf(t, cfg.Gateway.Listen)
	_, metrics := cfg.MetricsListen("gateway")
	var scrape deploycheck.ScrapeConfig
	if err := deploycheck.ReadYAML(deployFile("prometheus", "prometheus-enterprise.yml"), &scrape); err != nil {
		t.Fatal(err)
	}
	var gatewayHosts []string
	for _, target := range scrape.Targets()["exekra-gateway"] {
		host, _, _ := net.SplitHostPort(target)
		gatewayHosts = append(gatewayHosts, host)
	}
	checkServers := func(t *testing.T, servers []string) {
		t.Helper()
		if len(servers) < 2 {
			t.Errorf("%d gateways balanced, want at least two", len(servers))
		}
		for _, s := range servers {
			host, _, _ := net.SplitHostPort(s)
			if portOf(t, s) != gatewayPort {
				t.Errorf("gateway %s: gateway.listen is port %d", s, gatewayPort)
			}
			if !slices.Contains(gatewayHosts, host) {
				t.Errorf("gateway %s is none of prometheus-enterprise.yml's gateways %v", host, gatewayHosts)
			}
		}
	}
	// Longer than a runner's claim long poll, which the gateway holds that long.
	longPoll := time.Duration(runners.MaxClaimWaitSeconds) * time.Second

	t.Run("nginx", func(t *testing.T) {
		n, err := deploycheck.ReadNginx(deployFile("enterprise", "nginx", "exekra-hub.conf"))
		if err != nil {
			t.Fatal(err)
		}
		checkServers(t, n.Upstreams["exekra_gateways"])
		one := func(name string) string {
			t.Helper()
			if len(n.Directives[name]) == 0 {
				t.Errorf("no %s", name)
				return ""
			}
			return n.Directives[name][0]
		}
		if one("proxy_pass") != "https://exekra_gateways" {
			t.Errorf("proxy_pass %q: want TLS to the exekra_gateways upstream", one("proxy_pass"))
		}
		for _, name := range []string{"proxy_read_timeout", "proxy_send_timeout"} {
			if d, err := time.ParseDuration(one(name)); err != nil || d <= longPoll {
				t.Errorf("%s %s: want more than the %s claim long poll", name, one(name), longPoll)
			}
		}
		if size := one("client_max_body_size"); size != strconv.Itoa(pkgstore.DefaultMaxBytes>>20)+"m" {
			t.Errorf("client_max_body_size %s: packages are up to %d MiB", size, pkgstore.DefaultMaxBytes>>20)
		}
		if next := strings.Fields(one("proxy_next_upstream")); !slices.Contains(next, "error") || slices.Contains(next, "non_idempotent") {
			t.Errorf("proxy_next_upstream %v: want error (a refused request to the next gateway), never non_idempotent", next)
		}
		if one("proxy_ssl_verify") != "on" || !slices.Contains(cfg.Hub.HostNames, one("proxy_ssl_name")) {
			t.Errorf("proxy_ssl_verify %q, proxy_ssl_name %q: verify the gateways' shared certificate for %v",
				one("proxy_ssl_verify"), one("proxy_ssl_name"), cfg.Hub.HostNames)
		}
		if !slices.Contains(n.Directives["proxy_set_header"], "X-Forwarded-For $proxy_add_x_forwarded_for") {
			t.Error("X-Forwarded-For is not passed: gateway.trusted_proxies would have nothing to trust")
		}
		if p := one("ssl_protocols"); strings.Contains(p+" ", "TLSv1 ") || strings.Contains(p, "TLSv1.1") {
			t.Errorf("ssl_protocols %s: the Hub speaks TLS 1.2 and later", p)
		}
	})

	t.Run("HAProxy", func(t *testing.T) {
		h, err := deploycheck.ReadHAProxy(deployFile("enterprise", "haproxy", "haproxy.cfg"))
		if err != nil {
			t.Fatal(err)
		}
		const backend = "backend exekra_gateways"
		var servers []string
		for _, l := range h.Lines(backend, "server") {
			if f := strings.Fields(l); len(f) >= 3 {
				servers = append(servers, f[2])
			}
		}
		checkServers(t, servers)
		defaults := strings.Join(h.Lines(backend, "default-server"), " ")
		if !strings.Contains(defaults, " check ") || !strings.Contains(defaults, " port "+strconv.Itoa(portOf(t, metrics))+" ") {
			t.Errorf("default-server %q: want checks on the gateway's metrics port %d", defaults, portOf(t, metrics))
		}
		if !strings.Contains(defaults, "ssl verify required") || !strings.Contains(defaults, "verifyhost "+cfg.Hub.HostNames[0]) {
			t.Errorf("default-server %q: want TLS to the gateways, verified for %s", defaults, cfg.Hub.HostNames[0])
		}
		if got := h.Lines(backend, "option httpchk"); len(got) != 1 || got[0] != "option httpchk GET /readyz" {
			t.Errorf("health check %v: want GET /readyz", got)
		}
		for _, l := range append(h.Lines("defaults", "timeout server"), h.Lines("defaults", "timeout client")...) {
			f := strings.Fields(l)
			if d, err := time.ParseDuration(f[len(f)-1]); err != nil || d <= longPoll {
				t.Errorf("%q: want more than the %s claim long poll", l, longPoll)
			}
		}
		deny := strings.Join(h.Lines("frontend exekra_https", "http-request deny"), " ")
		if !strings.HasSuffix(deny, "gt "+strconv.Itoa(pkgstore.DefaultMaxBytes)+" }") {
			t.Errorf("%q: packages are up to %d bytes", deny, pkgstore.DefaultMaxBytes)
		}
		if len(h.Lines("frontend exekra_https", "option forwardfor")) != 1 {
			t.Error("X-Forwarded-For is not passed: gateway.trusted_proxies would have nothing to trust")
		}
	})
}

var natsListen = regexp.MustCompile(`(?m)^listen:\s*\S+:(\d+)\s*$`)

func TestEnterpriseNATS(t *testing.T) {
	cfg := enterpriseConfig(t, "gateway")
	var first string
	if cfg.NATS.CAFile == "" {
		t.Error("nats.ca_file is empty: the Hub could not check the nodes' certificates")
	}
	for n := 1; n <= 3; n++ {
		raw, err := os.ReadFile(deployFile("enterprise", "nats", "nats-"+strconv.Itoa(n)+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		conf := string(raw)
		name := "nats-" + strconv.Itoa(n)
		if !strings.Contains(conf, "server_name: "+name+"\n") {
			t.Errorf("%s.conf: no server_name: %s", name, name)
		}
		// The three files' settings differ only in the node's name.
		var same strings.Builder
		for line := range strings.Lines(conf) {
			if t := strings.TrimSpace(line); !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "server_name:") {
				same.WriteString(line)
			}
		}
		if first == "" {
			first = same.String()
		} else if same.String() != first {
			t.Errorf("%s.conf differs from nats-1.conf in more than the node's name", name)
		}
		m := natsListen.FindStringSubmatch(conf)
		if m == nil {
			t.Fatalf("%s.conf: no client listen", name)
		}
		for _, u := range strings.Split(cfg.NATS.URL, ",") {
			pu, err := url.Parse(u)
			if err != nil || pu.Port() != m[1] {
				t.Errorf("nats.url %s: the nodes listen on %s", pu.Redacted(), m[1])
			}
			if pu.Scheme != "tls" || pu.User != nil {
				t.Errorf("nats.url %s: want tls:// without a user or password (each process has its own key)", pu.Redacted())
			}
		}
		for k := 1; k <= 3; k++ {
			if !strings.Contains(conf, "nats-route://nats-"+strconv.Itoa(k)+".hub.example:6222") {
				t.Errorf("%s.conf does not route to nats-%d", name, k)
			}
			if !strings.Contains(cfg.NATS.URL, "//nats-"+strconv.Itoa(k)+".hub.example:") {
				t.Errorf("nats.url does not name nats-%d", k)
			}
		}
		// Clients over TLS with their NKeys (the block exekractl credentials
		// writes), routes over mutual TLS, no shared user.
		for _, want := range []string{"jetstream {", "store_dir:", "cluster {", "listen: 0.0.0.0:6222",
			"include \"nats/authorization.conf\"", "tls {", "verify: true"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s.conf lacks %q", name, want)
			}
		}
	}
}

// TestEnterpriseReadme: the guide names every file it comes with.
func TestEnterpriseReadme(t *testing.T) {
	readme, err := os.ReadFile(deployFile("enterprise", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := deployFile("enterprise")
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README.md" {
			return err
		}
		if rel, _ := filepath.Rel(dir, path); !strings.Contains(string(readme), d.Name()) {
			t.Errorf("README.md does not mention %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(slices.Clone(backends), "gateway") {
		if !strings.Contains(string(readme), "exekra@"+s) {
			t.Errorf("README.md does not say how to start exekra@%s", s)
		}
	}
}
