package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Probe reports whether a child serves now; it is called repeatedly.
type Probe func(ctx context.Context) error

// probeEvery is the pause between two probes.
const probeEvery = 100 * time.Millisecond

// WaitReady probes the child until it answers. It fails when the child exits
// first (naming its last output line), when timeout passes, or when ctx ends.
// Once it succeeds, later exits of the child are restarts.
func (c *Child) WaitReady(ctx context.Context, timeout time.Duration) error {
	c.mu.Lock()
	p := c.cur
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%s was not started", c.spec.Name)
	}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = c.probeOnce(ctx); last == nil {
			return c.markReady(p)
		}
		select {
		case <-p.exited:
			return c.exitedEarly(p)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(probeEvery):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not become ready within %s (last check: %v); see %s",
				c.spec.Name, timeout, last, c.spec.LogFile)
		}
	}
}

// Check reports whether the child runs and answers its Ready probe (or its
// start-up Probe) now: the supervisor's /readyz.
func (c *Child) Check(ctx context.Context) error {
	if c.Pid() == 0 {
		return fmt.Errorf("%s is not running", c.spec.Name)
	}
	if c.spec.Ready != nil {
		return c.spec.Ready(ctx)
	}
	return c.probeOnce(ctx)
}

func (c *Child) probeOnce(ctx context.Context) error {
	if c.spec.Probe == nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.spec.Probe(pctx)
}

// markReady ends start-up unless the process has already exited.
func (c *Child) markReady(p *process) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if isClosed(p.exited) {
		return c.exitedEarly(p)
	}
	c.ready = true
	c.log.Info("child ready", "pid", p.pid, "startup_ms", time.Since(p.started).Milliseconds())
	return nil
}

func (c *Child) exitedEarly(p *process) error {
	if refused(p.err) {
		return c.refusal(p)
	}
	msg := fmt.Sprintf("%s exited during start-up (%s)", c.spec.Name, exitText(p.err))
	if line := lastLine(c.spec.LogFile); line != "" {
		msg += ": " + line
	}
	return fmt.Errorf("%s; see %s", msg, c.spec.LogFile)
}

// lastLine returns the last non-empty line of a log file, shortened: a
// failing service's one-line reason.
func lastLine(path string) string {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 4096
	if info, err := f.Stat(); err == nil && info.Size() > window {
		f.Seek(info.Size()-window, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	line := strings.TrimSpace(string(lines[len(lines)-1]))
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}
