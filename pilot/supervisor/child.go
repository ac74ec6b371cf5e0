package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/daemon"
)

// Spec describes one supervised child process.
type Spec struct {
	Name       string // label in logs and metrics: identity, redis, postgres ...
	Path       string
	Args       []string
	Env        []string
	Dir        string
	LogFile    string         // stdout and stderr are appended here
	Credential *Credential    // nil: run as the supervisor's user
	StopSignal syscall.Signal // asks the child to stop (Unix); default SIGTERM
	Probe      Probe          // says when the child serves; nil: once started
	Ready      Probe          // says whether it serves fully now (Check); nil: Probe
}

// Credential is the user and group a child runs as, with no supplementary
// groups. Unix only: on Windows a child with a Credential does not start.
type Credential struct {
	UID, GID uint32
}

// Child runs one Spec: it starts the process and, once the child has been
// ready, restarts it with backoff whenever it exits until Stop is called.
type Child struct {
	spec    Spec
	log     *slog.Logger
	stats   childStats
	backoff *Backoff

	mu       sync.Mutex
	cur      *process
	ready    bool // start-up is over: from now on an exit means a restart
	stopping bool
	stopCh   chan struct{}
	done     chan struct{} // closed when nothing more will be started
	// onRefusal hears of a child that exited with daemon.ExitRefused after
	// start-up; it is not restarted.
	onRefusal func(error)
}

// process is one run of a child.
type process struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time
	exited  chan struct{} // closed after err is set
	err     error
}

var errStopping = errors.New("child is stopping")

// NewChild prepares a child; nothing runs until Start.
func NewChild(spec Spec, log *slog.Logger, stats childStats) *Child {
	if spec.StopSignal == 0 {
		spec.StopSignal = syscall.SIGTERM
	}
	return &Child{spec: spec, log: log.With("child", spec.Name), stats: stats, backoff: DefaultBackoff(),
		stopCh: make(chan struct{}), done: make(chan struct{})}
}

// Name is the child's label.
func (c *Child) Name() string { return c.spec.Name }

// Start runs the first process and watches it.
func (c *Child) Start() error {
	p, err := c.spawn()
	if err != nil {
		close(c.done)
		return err
	}
	go c.watch(p)
	return nil
}

// Pid is the process id of the current run, 0 when none runs.
func (c *Child) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || isClosed(c.cur.exited) {
		return 0
	}
	return c.cur.pid
}

func (c *Child) spawn() (*process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return nil, errStopping
	}
	out, err := os.OpenFile(c.spec.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("start %s: log file: %w", c.spec.Name, err)
	}
	defer out.Close() // the child holds its own copy
	attr, err := sysProcAttr(c.spec)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", c.spec.Name, err)
	}
	cmd := exec.Command(c.spec.Path, c.spec.Args...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = c.spec.Env, c.spec.Dir, out, out
	cmd.SysProcAttr = attr
	if err := startCmd(cmd); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", c.spec.Name, c.spec.Path, err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	c.cur = p
	c.stats.up.Set(1)
	c.log.Info("child started", "pid", p.pid)
	return p, nil
}

// watch restarts the child each time it exits, until Stop or a failed start-up.
func (c *Child) watch(p *process) {
	defer close(c.done)
	for {
		<-p.exited
		c.stats.up.Set(0)
		ran := time.Since(p.started)
		c.mu.Lock()
		stopping, ready := c.stopping, c.ready
		c.mu.Unlock()
		switch {
		case stopping:
			c.log.Info("child stopped", "pid", p.pid, "exit", exitText(p.err))
			return
		case !ready:
			return // WaitReady reports it
		}
		if refused(p.err) {
			err := c.refusal(p)
			c.log.Error("child refuses to run; not restarting it", "pid", p.pid, "exit", exitText(p.err), "reason", err.Line)
			if c.onRefusal != nil {
				c.onRefusal(err)
			}
			return
		}
		delay := c.backoff.Next(ran)
		c.log.Warn("child exited unexpectedly; restarting", "pid", p.pid, "exit", exitText(p.err),
			"ran_ms", ran.Milliseconds(), "restart_in_ms", delay.Milliseconds())
		var ok bool
		if p, ok = c.restartAfter(delay); !ok {
			return
		}
	}
}

// restartAfter waits delay and starts a new process, retrying with backoff
// when the start fails; false means Stop was called.
func (c *Child) restartAfter(delay time.Duration) (*process, bool) {
	for {
		select {
		case <-c.stopCh:
			return nil, false
		case <-time.After(delay):
		}
		p, err := c.spawn()
		if err == nil {
			c.stats.restarts.Inc()
			return p, true
		}
		if errors.Is(err, errStopping) {
			return nil, false
		}
		delay = c.backoff.Next(0)
		c.log.Error("restart failed", "err", err, "retry_in_ms", delay.Milliseconds())
	}
}

// Stop ends supervision: the running process is asked to stop (the stop
// signal; CTRL_BREAK_EVENT on Windows), then killed after timeout (SIGKILL to
// its whole process group; on Windows the process alone), or at once when it
// cannot be asked. It returns once the child is gone.
func (c *Child) Stop(timeout time.Duration) {
	c.mu.Lock()
	if !c.stopping {
		c.stopping = true
		close(c.stopCh)
	}
	p := c.cur
	c.mu.Unlock()
	if p != nil && !isClosed(p.exited) {
		c.log.Info("stopping child", "pid", p.pid, "signal", stopRequestName(c.spec.StopSignal))
		wait, asked := timeout, true
		if err := requestStop(p.cmd.Process, c.spec.StopSignal); err != nil && !errors.Is(err, os.ErrProcessDone) {
			c.log.Warn("could not ask the child to stop; killing it", "pid", p.pid, "err", err)
			wait, asked = 0, false
		}
		select {
		case <-p.exited:
		case <-time.After(wait):
			if asked {
				c.log.Warn("child did not stop in time; killing it", "pid", p.pid, "timeout", timeout.String())
			}
			_ = kill(p.cmd.Process)
			<-p.exited
		}
	}
	<-c.done
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// exitText describes how a process ended: "exit status 1", "signal: killed".
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// RefusedError is a child that exited with daemon.ExitRefused: it will not
// run on what it found (a schema a newer release changed), and starting it
// again cannot help. Line is its last output line, the reason.
type RefusedError struct {
	Child, Line, LogFile string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s refuses to run: %s (see %s)", e.Child, e.Line, e.LogFile)
}

func (c *Child) refusal(p *process) *RefusedError {
	return &RefusedError{Child: c.spec.Name, Line: lastLine(c.spec.LogFile), LogFile: c.spec.LogFile}
}

// refused tells whether a run ended with daemon.ExitRefused.
func refused(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) && exit.ExitCode() == daemon.ExitRefused
}
