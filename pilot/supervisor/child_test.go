//go:build unix

package supervisor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newShellChild supervises sh -c script.
func newShellChild(t *testing.T, script string, probe Probe) (*Child, childStats) {
	t.Helper()
	stats := newHubMetrics(metrics.New("test")).child("sh")
	c := NewChild(Spec{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script},
		LogFile: filepath.Join(t.TempDir(), "service-sh.log"), Probe: probe}, quietLog, stats)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(time.Second) })
	return c, stats
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestChildIsRestartedAfterACrash(t *testing.T) {
	c, stats := newShellChild(t, "exec sleep 60", nil)
	if err := c.WaitReady(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	old := c.Pid()
	if got := testutil.ToFloat64(stats.up); got != 1 {
		t.Fatalf("child_up = %v while running, want 1", got)
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new process", func() bool { p := c.Pid(); return p != 0 && p != old })
	if got := testutil.ToFloat64(stats.restarts); got != 1 {
		t.Fatalf("restarts_total = %v, want 1", got)
	}
	now := c.Pid()
	c.Stop(5 * time.Second)
	if alive(now) {
		t.Fatalf("pid %d still alive after Stop", now)
	}
	if got := testutil.ToFloat64(stats.up); got != 0 {
		t.Fatalf("child_up = %v after Stop, want 0", got)
	}
}

func TestChildThatDiesDuringStartupIsReported(t *testing.T) {
	neverReady := func(context.Context) error { return errors.New("not yet") }
	c, stats := newShellChild(t, `echo starting; echo "fatal: the port is taken" >&2; exit 3`, neverReady)
	err := c.WaitReady(context.Background(), 10*time.Second)
	if err == nil {
		t.Fatal("WaitReady = nil for a child that exited")
	}
	for _, want := range []string{"sh exited during start-up", "exit status 3", "fatal: the port is taken", "service-sh.log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	time.Sleep(800 * time.Millisecond) // longer than the first backoff
	if c.Pid() != 0 || testutil.ToFloat64(stats.restarts) != 0 {
		t.Fatal("a child that failed its start-up was restarted")
	}
}

func TestChildThatIgnoresSIGTERMIsKilledWithItsGroup(t *testing.T) {
	c, _ := newShellChild(t, `trap "" TERM; sleep 60 & wait; sleep 60`, nil)
	if err := c.WaitReady(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	start := time.Now()
	c.Stop(300 * time.Millisecond)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Stop took %s with a 300ms timeout", took)
	}
	waitFor(t, "the process group to be gone", func() bool { return syscall.Kill(-pid, 0) != nil })
}

func TestStopDuringBackoff(t *testing.T) {
	c, _ := newShellChild(t, "exit 1", nil)
	c.mu.Lock()
	c.ready = true // as if the first run had been ready: every exit is a restart
	c.backoff = &Backoff{Min: time.Hour, Max: time.Hour, ResetAfter: time.Hour}
	c.mu.Unlock()
	waitFor(t, "the child to exit", func() bool { return c.Pid() == 0 })
	done := make(chan struct{})
	go func() { c.Stop(time.Second); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Stop waited for the backoff")
	}
}

func TestLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if got := lastLine(path); got != "" {
		t.Fatalf("lastLine of a missing file = %q", got)
	}
	writeFile(t, path, "first\n"+strings.Repeat("x", 5000)+"\nexekra-identity: PostgreSQL at 127.0.0.1:1/exekra is unreachable\n\n")
	if got := lastLine(path); got != "exekra-identity: PostgreSQL at 127.0.0.1:1/exekra is unreachable" {
		t.Fatalf("lastLine = %q", got)
	}
}

// A child that exits with daemon.ExitRefused after its start-up is not
// restarted: the Hub hears of it (onRefusal) with the child's last line.
func TestChildThatRefusesToRunIsNotRestarted(t *testing.T) {
	stats := newHubMetrics(metrics.New("test")).child("sh")
	script := `sleep 0.3; echo "exekra-sh: schema sh has migration 999, which this program does not know" >&2; exit ` + strconv.Itoa(daemon.ExitRefused)
	c := NewChild(Spec{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script},
		LogFile: filepath.Join(t.TempDir(), "service-sh.log")}, quietLog, stats)
	heard := make(chan error, 1)
	c.onRefusal = func(err error) { heard <- err }
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(time.Second) })
	if err := c.WaitReady(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-heard:
	case <-time.After(10 * time.Second):
		t.Fatal("the refusal was not reported")
	}
	var refusal *RefusedError
	if !errors.As(err, &refusal) || refusal.Child != "sh" || !strings.Contains(refusal.Line, "migration 999") {
		t.Fatalf("reported %#v, want a RefusedError carrying the child's line", err)
	}
	time.Sleep(800 * time.Millisecond) // longer than the first backoff
	if c.Pid() != 0 || testutil.ToFloat64(stats.restarts) != 0 {
		t.Fatal("a child that refused to run was restarted")
	}
}
