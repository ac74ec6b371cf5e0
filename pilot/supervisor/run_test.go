//go:build unix

package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/pilot/programs"
	"github.com/jackc/pgx/v5"
)

// testHub is one install dir with free ports and fake service binaries.
type testHub struct {
	home, binDir string
	env          map[string]string
}

func newTestHub(t *testing.T) *testHub {
	t.Helper()
	home := t.TempDir()
	for _, d := range []string{filepath.Dir(home), home} { // the private PostgreSQL's user must reach var/pg
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	th := &testHub{home: home, binDir: t.TempDir(), env: map[string]string{fakeServiceVar: "1"}}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Services {
		if err := os.Symlink(self, filepath.Join(th.binDir, "exekra-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"GATEWAY_LISTEN", "GATEWAY_METRICS_LISTEN", "IDENTITY_METRICS_LISTEN",
		"LICENSING_METRICS_LISTEN", "RUNNERS_METRICS_LISTEN", "AUDIT_METRICS_LISTEN", "SUPERVISOR_METRICS_LISTEN",
		"NATS_LISTEN", "REDIS_LISTEN", "DATABASE_PRIVATE_LISTEN"} {
		addr := freeAddr(t)
		for slices.Contains(slices.Collect(maps.Values(th.env)), addr) { // the kernel may hand a closed port out again
			addr = freeAddr(t)
		}
		th.env["EXEKRA_"+key] = addr
	}
	th.env["EXEKRA_SUPERVISOR_BIN_DIR"] = th.binDir
	th.env["EXEKRA_SUPERVISOR_STOP_TIMEOUT"] = "5s"
	th.env["GORACE"] = "atexit_sleep_ms=0" // a -race fake would otherwise linger 1 s at exit
	return th
}

func (th *testHub) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(name, "EXEKRA_") && th.env[name] == "" {
			env = append(env, kv)
		}
	}
	for k, v := range th.env {
		env = append(env, k+"="+v)
	}
	return env
}

// fakeEnv reads what a fake service recorded.
func (th *testHub) fakeEnv(name string) map[string]string {
	data, _ := os.ReadFile(filepath.Join(th.home, "var", "fake-"+name+".env"))
	out := map[string]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// TestRunSupervisesTheWholeTree runs exekra-hub's Run with the real embedded
// NATS, bundled Redis and private PostgreSQL, and fake services.
func TestRunSupervisesTheWholeTree(t *testing.T) {
	if _, err := programs.Find("redis-server", programs.PathList(os.Environ())); err != nil {
		t.Skip("redis-server is not installed")
	}
	th := newTestHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- Run(ctx, Options{Home: th.home, Environ: th.environ(), Stdout: out}) }()
	waitFor60(t, done, "the ready banner", func() bool { return strings.Contains(out.String(), "Exekra Hub is running") })
	t.Logf("ready in %s", time.Since(start).Round(time.Millisecond))

	if want := "https://" + th.env["EXEKRA_GATEWAY_LISTEN"] + "/"; !strings.Contains(out.String(), "Console:  "+want) {
		t.Errorf("banner lacks the console URL %s:\n%s", want, out.String())
	}
	t.Run("every service got working NATS, Redis and PostgreSQL URLs", func(t *testing.T) {
		checkServiceURLs(t, th)
	})
	t.Run("the supervisor made the metrics token, and its /metrics needs it", func(t *testing.T) {
		file := filepath.Join(th.home, "var", "credentials", "metrics.token")
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("metrics token %s: %v %v, want mode 0600", file, fi, err)
		}
		if tok := th.metricsToken(t); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
			t.Errorf("the metrics token is not 32 bytes in hex (%d characters)", len(tok))
		}
		for _, path := range []string{"/metrics", "/debug/pprof/"} {
			code, _ := getAuth(t, "http://"+th.env["EXEKRA_SUPERVISOR_METRICS_LISTEN"]+path, "")
			if code != http.StatusUnauthorized {
				t.Errorf("%s without the token = %d, want 401", path, code)
			}
		}
	})
	t.Run("the supervisor's metrics show the children", func(t *testing.T) {
		body := th.scrape(t, "http://"+th.env["EXEKRA_SUPERVISOR_METRICS_LISTEN"]+"/metrics")
		for _, child := range append(slices.Clone(Services), "redis", "postgres") {
			if !strings.Contains(body, `exekra_supervisor_child_up{child="`+child+`"} 1`) {
				t.Errorf("/metrics lacks child_up 1 for %s", child)
			}
		}
	})
	t.Run("the supervisor is ready while NATS and every child answer", func(t *testing.T) {
		body := get(t, "http://"+th.env["EXEKRA_SUPERVISOR_METRICS_LISTEN"]+"/readyz")
		var rep metrics.ReadyReport
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("/readyz %q: %v", body, err)
		}
		want := append(slices.Clone(Services), "redis", "postgres", "nats")
		if rep.Status != "ready" || len(rep.Checks) != len(want) {
			t.Fatalf("/readyz = %+v, want ready with %v", rep, want)
		}
		for _, name := range want {
			if rep.Checks[name] != "up" {
				t.Errorf("/readyz %s = %q", name, rep.Checks[name])
			}
		}
	})
	t.Run("a killed service is restarted", func(t *testing.T) {
		old, _ := strconv.Atoi(th.fakeEnv("identity")["PID"])
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor60(t, done, "a new identity", func() bool {
			pid, _ := strconv.Atoi(th.fakeEnv("identity")["PID"])
			return pid != old && pid != 0
		})
		waitFor60(t, done, "restarts_total 1", func() bool {
			body := th.scrape(t, "http://"+th.env["EXEKRA_SUPERVISOR_METRICS_LISTEN"]+"/metrics")
			return strings.Contains(body, `exekra_supervisor_restarts_total{child="identity"} 1`)
		})
	})

	tree := childrenOfTest()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after the stop = %v, want nil", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60 s of the stop")
	}
	for _, pid := range tree {
		if alive(pid) {
			t.Errorf("pid %d survived the stop", pid)
		}
	}
	if len(tree) != 7 {
		t.Errorf("found %d children before the stop, want 7 (5 services, redis, postgres)", len(tree))
	}
	if left := childrenOfTest(); len(left) > 0 {
		t.Errorf("children left after the stop: %v", left)
	}
	want := []string{"gateway", "audit", "runners", "licensing", "identity", "postgres", "redis", "nats"}
	if got := stopOrder(t, th.home); !slices.Equal(got, want) {
		t.Errorf("stop order %v, want %v", got, want)
	}
}

func checkServiceURLs(t *testing.T, th *testHub) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range Services {
		env := th.fakeEnv(name)
		nc := natstest.ConnectAs(t, env["EXEKRA_NATS_URL"], filepath.Join(th.home, "var", "credentials"), busauth.Principal(name))
		nc.Close()
		addr := strings.TrimSuffix(strings.TrimPrefix(env["EXEKRA_REDIS_URL"], "redis://"), "/0")
		password, err := redisdb.Password(filepath.Join(th.home, "var", "credentials"), redisdb.Hub)
		if err != nil {
			t.Fatal(err)
		}
		if err := redisPing(addr, password)(ctx); err != nil {
			t.Fatalf("%s: Redis %q: %v", name, env["EXEKRA_REDIS_URL"], err)
		}
		conn, err := pgx.Connect(ctx, env["EXEKRA_DATABASE_URL"])
		if err != nil {
			t.Fatalf("%s: PostgreSQL: %v", name, err)
		}
		var db string
		conn.QueryRow(ctx, "SELECT current_database()").Scan(&db)
		conn.Close(ctx)
		if db != "exekra" {
			t.Fatalf("%s: connected to database %q, want exekra", name, db)
		}
	}
}

// stopOrder reads, from the supervisor's log, the order children were stopped in.
func stopOrder(t *testing.T, home string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(home, "logs", "hub-hub.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Child string }
		json.Unmarshal(sc.Bytes(), &rec)
		switch rec.Msg {
		case "stopping child":
			order = append(order, rec.Child)
		case "stopping embedded NATS":
			order = append(order, "nats")
		}
	}
	return order
}
