//go:build unix

package supervisor

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/pilot/programs"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// checkRedisUsers: the bundled Redis refuses a client without a password,
// lets the runners in with theirs, to their keys only, and keeps its ACL
// file to the Hub's OS user.
func checkRedisUsers(t *testing.T, ctx context.Context, url, creds, home string) {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	stranger := redis.NewClient(opts)
	defer stranger.Close()
	if err := stranger.Set(ctx, "exekra:runners:cred:r1", "forged", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Errorf("a client without a password wrote a runner's credential hash: %v, want NOAUTH", err)
	}
	runners, err := redisdb.Open(ctx, url, redisdb.Runners, creds, 5*time.Second)
	if err != nil {
		t.Fatalf("runners' Redis user: %v", err)
	}
	defer runners.Close()
	if err := runners.Set(ctx, "exekra:runners:cred:r1", "hash", time.Minute).Err(); err != nil {
		t.Errorf("runners writes its own key: %v", err)
	}
	if err := runners.Get(ctx, "exekra:identity:login:account:x").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("runners reads identity's key: %v, want NOPERM", err)
	}
	if err := runners.FlushAll(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("runners flushes everything: %v, want NOPERM", err)
	}
	fi, err := os.Stat(filepath.Join(home, "runtime", "redis", "users.acl"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("runtime/redis/users.acl: %v, %v; want mode 0600", fi, err)
	}
}

// TestBundledRedisAndEmbeddedNATS starts the embedded NATS and the bundled
// redis-server as exekra-hub does, checks both answer, then kills Redis and
// sees the supervisor bring it back.
func TestBundledRedisAndEmbeddedNATS(t *testing.T) {
	server, err := programs.Find("redis-server", programs.PathList(os.Environ()))
	if err != nil {
		t.Skipf("redis-server is not installed: %v", err)
	}
	home := t.TempDir()
	if _, err := EnsureHome(home); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(home)
	cfg.NATS.Listen, cfg.Redis.Listen = freeAddr(t), freeAddr(t)
	cfg.Supervisor.StopTimeout = config.Duration(5 * time.Second)
	h := &hub{cfg: cfg, log: quietLog, environ: os.Environ(), stats: newHubMetrics(metrics.New("test"))}
	t.Cleanup(h.stopAll)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	natsURL, err := h.startNATS()
	if err != nil {
		t.Fatal(err)
	}
	redisURL, err := h.startRedis(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	if want := "redis://" + cfg.Redis.Listen + "/0"; redisURL != want {
		t.Fatalf("Redis URL %s, want %s", redisURL, want)
	}
	if stranger, err := nats.Connect(natsURL, nats.Timeout(2*time.Second)); err == nil {
		stranger.Close()
		t.Fatalf("embedded NATS at %s let in a client without a key", natsURL)
	}
	nc := natstest.ConnectAs(t, natsURL, cfg.Path(cfg.Hub.CredentialsDir), busauth.Audit)
	defer nc.Close()
	if _, err := nc.JetStream(); err != nil {
		t.Fatal(err)
	}
	creds := cfg.Path(cfg.Hub.CredentialsDir)
	password, err := redisdb.Password(creds, redisdb.Hub)
	if err != nil {
		t.Fatal(err)
	}
	ping := redisPing(cfg.Redis.Listen, password)
	if err := ping(ctx); err != nil {
		t.Fatalf("bundled Redis: %v", err)
	}
	checkRedisUsers(t, ctx, redisURL, creds, home)

	redis := h.children[0]
	old := redis.Pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "redis-server to be restarted", func() bool {
		p := redis.Pid()
		return p != 0 && p != old && ping(ctx) == nil
	})
	if got := testutil.ToFloat64(h.stats.restarts.WithLabelValues("redis")); got != 1 {
		t.Fatalf("restarts_total{child=redis} = %v, want 1", got)
	}
	// Redis keeps its output beside its data, not in logs/ with the services'.
	log, _ := os.ReadFile(filepath.Join(home, "runtime", "redis", "redis.log"))
	if strings.Count(string(log), "Ready to accept connections") != 2 {
		t.Errorf("runtime/redis/redis.log lacks the output of both servers (before and after the restart):\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(home, "logs", "service-redis.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("logs/service-redis.log: %v, want none (Redis logs to runtime/redis/redis.log)", err)
	}

	now := redis.Pid()
	h.stopAll()
	if alive(now) {
		t.Fatalf("redis-server (pid %d) survived the stop", now)
	}
	if again, err := nats.Connect(natsURL, nats.Timeout(time.Second)); err == nil { // refused either way: stopped, and no key
		again.Close()
		t.Fatal("the embedded NATS still serves after the stop")
	}
}
