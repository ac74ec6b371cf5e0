// Package redistest starts a private redis-server for a test: a child process
// on a free loopback port, persistence off, its directory a temporary one.
package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/exekra/hub/libs/testkit/freeport"
)

// EnvServer may name the redis-server program; by default it is found on PATH.
const EnvServer = "TEST_REDIS_SERVER"

// New starts a redis-server, stops it when t ends, and returns its URL
// (redis://127.0.0.1:<port>/0).
func New(t testing.TB) string {
	t.Helper()
	return NewWith(t)
}

// NewWith is New with more redis-server arguments (e.g. --aclfile; a server
// whose default user is off counts as ready when it answers NOAUTH).
func NewWith(t testing.TB, args ...string) string {
	t.Helper()
	bin := program(t)
	var lastErr error
	for range 5 { // the free port may be taken before redis-server binds it
		url, err := start(t, bin, args)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return ""
}

// Client starts a redis-server (see New) and returns a client of it, closed
// when t ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(New(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func program(t testing.TB) string {
	t.Helper()
	name := os.Getenv(EnvServer)
	if name == "" {
		name = "redis-server"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s not found (%v); install Redis (apt-get install redis-server) or set %s to the program",
			name, err, EnvServer)
	}
	return bin
}

// start runs one redis-server; it returns an error when it does not answer.
func start(t testing.TB, bin string, args []string) (string, error) {
	t.Helper()
	port := freeport.Port(t)
	out := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
		"--daemonize", "no", "--logfile", ""}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitReady(addr, exited); err != nil {
		stop()
		return "", fmt.Errorf("redis-server on %s: %w\n%s", addr, err, out.String())
	}
	t.Cleanup(stop)
	return "redis://" + addr + "/0", nil
}

func waitReady(addr string, exited <-chan struct{}) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || strings.HasPrefix(err.Error(), "NOAUTH") {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within 10s: %w", err)
		}
	}
}

// syncBuffer collects the server's output for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
