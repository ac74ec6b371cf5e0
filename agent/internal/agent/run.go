package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/runnerclient"
)

// runProcess runs the entrypoint in work until it ends, is stopped, times
// out (deadline) or the agent stops (interrupted). The job's assets, when
// it has some, go to the process as variables and a file removed once the
// process has ended, whatever ended it; their values are masked in its log.
func (j *jobRunner) runProcess(ctx context.Context, job *claimedJob, rj *runningJob, m pkgstore.Manifest, work string,
	assets *jobAssets, deadline <-chan time.Time, ship *shipper, log *slog.Logger) (jobResult, bool) {
	prog := m.Entrypoint[0]
	if strings.ContainsRune(prog, '/') && !filepath.IsAbs(prog) {
		prog = filepath.Join(work, filepath.FromSlash(prog))
	}
	params := paramsJSON(job.Parameters)
	cmd := exec.Command(prog, m.Entrypoint[1:]...)
	cmd.Dir = work
	cmd.Env = jobEnv(os.Environ(), job, params)
	if assets != nil {
		ship.setMask(assets.mask)
		file, err := writeAssetsFile(work, assets.file)
		if err != nil {
			return failWith(ship, err), false
		}
		defer func() {
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				log.Error("cannot remove the job's assets file", "path", file, "err", err.Error())
			}
		}()
		cmd.Env = append(cmd.Env, assets.env...)
		cmd.Env = append(cmd.Env, runners.AssetsFileEnv+"="+file)
	}
	cmd.Stdin = bytes.NewReader(params)
	cmd.WaitDelay = 5 * time.Second
	ownGroup(cmd)
	outR, outW, err := os.Pipe()
	if err != nil {
		return failWith(ship, fmt.Errorf("start the entrypoint: %w", err)), false
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return failWith(ship, fmt.Errorf("start the entrypoint: %w", err)), false
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return failWith(ship, fmt.Errorf("start the entrypoint %q: %w", m.Entrypoint[0], err)), false
	}
	log.Info("job started", "pid", cmd.Process.Pid, "entrypoint", m.Entrypoint[0])
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); ship.read(outR, "stdout") }()
	go func() { defer readers.Done(); ship.read(errR, "stderr") }()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var reason string
	select {
	case err = <-waited:
	case <-rj.stop:
		reason = rj.reason
	case <-deadline:
		reason = stopTimeout
	case <-ctx.Done():
		reason = stopShutdown
	}
	if reason != "" {
		log.Info("stopping the job", "reason", reason)
		signalTree(cmd, false)
		select {
		case err = <-waited:
		case <-time.After(j.killGrace):
			log.Warn("the job did not stop on SIGTERM; killing it", "grace", j.killGrace.String())
			signalTree(cmd, true)
			err = <-waited
		}
	}
	signalTree(cmd, true) // whatever the entrypoint left behind goes with it
	readDone := make(chan struct{})
	go func() { readers.Wait(); close(readDone) }()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second): // a descendant outside the group holds the pipes
		outR.Close()
		errR.Close()
		<-readDone
	}
	outR.Close()
	errR.Close()

	exit, how := exitOf(cmd.ProcessState, err)
	switch {
	case reason == stopShutdown:
		return jobResult{}, true
	case reason != "":
		return stopped(reason, exit), false
	case exit != nil && *exit == 0:
		return jobResult{Status: runners.JobSucceeded, ExitCode: exit}, false
	}
	return jobResult{Status: runners.JobFailed, ExitCode: exit, Error: how}, false
}

func failWith(ship *shipper, err error) jobResult {
	ship.agentLine(err.Error())
	return jobResult{Status: runners.JobFailed, Error: err.Error()}
}

// exitOf is the exit code (nil when a signal ended the process) and a
// sentence for a failure.
func exitOf(ps *os.ProcessState, err error) (*int, string) {
	if ps == nil {
		return nil, fmt.Sprintf("the entrypoint did not run: %v", err)
	}
	if code := ps.ExitCode(); code >= 0 {
		return &code, "exit code " + strconv.Itoa(code)
	}
	return nil, "the entrypoint ended by " + ps.String()
}

// paramsJSON is the parameters as sent on stdin: an object, {} when none.
func paramsJSON(raw json.RawMessage) []byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return []byte("{}")
	}
	return t
}

// paramEnvName is EXEKRA_PARAM_ and name upper-cased, anything not a
// letter or digit made "_".
func paramEnvName(name string) string {
	var b strings.Builder
	b.WriteString("EXEKRA_PARAM_")
	for _, r := range strings.ToUpper(name) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// jobEnv is base plus the job's variables: EXEKRA_JOB_ID, EXEKRA_JOB_ATTEMPT
// and one EXEKRA_PARAM_<NAME> per top-level parameter (strings as they
// are, null as "", other values as JSON). Variables of the agent's own named like those are dropped.
func jobEnv(base []string, job *claimedJob, params []byte) []string {
	env := make([]string, 0, len(base)+8)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "EXEKRA_") {
			env = append(env, kv)
		}
	}
	env = append(env, "EXEKRA_JOB_ID="+job.ID, "EXEKRA_JOB_ATTEMPT="+strconv.Itoa(job.Attempt))
	var obj map[string]json.RawMessage
	if json.Unmarshal(params, &obj) != nil {
		return env
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := obj[k]
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(bytes.TrimSpace(v))
		}
		if strings.ContainsRune(s, 0) {
			continue // cannot be an environment variable
		}
		env = append(env, paramEnvName(k)+"="+s)
	}
	return env
}

// Log shipping bounds: lines held while the Hub cannot take them, and how
// long the last lines are tried once the job has ended.
const (
	maxPendingLines = 50000
	finalFlushTries = 5
)

// shipper batches a job's log lines to the Hub: every flushEvery or
// batchLines lines, in the order they were read.
type shipper struct {
	j       *jobRunner
	job     *claimedJob
	rj      *runningJob
	in      chan logLine
	done    chan struct{}
	closing sync.Once
	mask    atomic.Pointer[masker] // the job's asset values, hidden in every line
}

// setMask hides m's values in every line shipped from now on.
func (s *shipper) setMask(m *masker) { s.mask.Store(m) }

func newShipper(j *jobRunner, job *claimedJob, rj *runningJob) *shipper {
	return &shipper{j: j, job: job, rj: rj, in: make(chan logLine, 4*j.batchLines), done: make(chan struct{})}
}

// read turns r into lines of stream (lines past maxLineBytes are split).
func (s *shipper) read(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			msg := strings.TrimSuffix(strings.TrimSuffix(string(chunk), "\n"), "\r")
			if err == nil || errors.Is(err, bufio.ErrBufferFull) || msg != "" {
				s.in <- logLine{TS: time.Now().UTC(), Stream: stream, Message: msg}
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// agentLine logs what the agent itself has to say about the job (on stderr).
func (s *shipper) agentLine(msg string) {
	s.in <- logLine{TS: time.Now().UTC(), Stream: "stderr", Message: "exekra-runner: " + msg}
}

// close sends what is left and waits for it (a bounded number of tries).
func (s *shipper) close() {
	s.closing.Do(func() { close(s.in) })
	<-s.done
}

func (s *shipper) loop(ctx context.Context) {
	defer close(s.done)
	log := s.j.a.log.With("job_id", s.job.ID, "attempt", s.job.Attempt)
	tick := time.NewTicker(s.j.flushEvery)
	defer tick.Stop()
	var pending []logLine
	dropped, failures, gone := 0, 0, false
	var retryAt time.Time
	// flush sends batches while they are taken; false when one failed.
	flush := func(all bool) bool {
		for len(pending) > 0 && !gone {
			if !all && len(pending) < s.j.batchLines && time.Since(pending[0].TS) < s.j.flushEvery {
				return true
			}
			n := min(len(pending), s.j.batchLines)
			cancel, err := s.j.a.client.UploadLogs(ctx, s.job.ID, s.job.Attempt, pending[:n])
			switch status := runnerclient.Status(err); {
			case err == nil:
				pending, failures = pending[n:], 0
				if cancel {
					log.Info("the Hub asked to cancel the job (logs reply)")
					s.rj.requestStop(stopCanceled)
				}
				if dropped > 0 && len(pending) == 0 {
					pending = append(pending, logLine{TS: time.Now().UTC(), Stream: "stderr",
						Message: fmt.Sprintf("exekra-runner: %d log lines were dropped while the Hub could not take them", dropped)})
					dropped = 0
				}
			case status == 403 || status == 409 || status == 404:
				log.Warn("the Hub no longer gives this runner the job; stopping it", "status", status, "err", err.Error())
				s.rj.requestStop(stopLost)
				gone, pending = true, nil
			default:
				retryAt = time.Now().Add(s.j.a.client.Wait(failures, err))
				failures++
				log.Warn("log upload failed; keeping the lines", "err", err.Error(), "status", status, "pending", len(pending))
				return false
			}
		}
		return true
	}
	for {
		select {
		case l, ok := <-s.in:
			if !ok {
				for try := 0; try < finalFlushTries && len(pending) > 0 && !gone && ctx.Err() == nil; try++ {
					if d := time.Until(retryAt); d > 0 && s.j.a.sleep(ctx, d) != nil {
						break
					}
					flush(true)
				}
				if len(pending) > 0 && !gone {
					log.Warn("giving up on the job's last log lines", "lines", len(pending))
				}
				return
			}
			if gone {
				continue
			}
			l.Message = s.mask.Load().apply(l.Message)
			if len(pending) >= maxPendingLines {
				dropped++
				continue
			}
			pending = append(pending, l)
			if len(pending) >= s.j.batchLines && !time.Now().Before(retryAt) {
				flush(false)
			}
		case <-tick.C:
			if !time.Now().Before(retryAt) {
				flush(true)
			}
		}
	}
}
