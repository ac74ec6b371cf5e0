package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slowLedgerScript is ledgerScript for a job still running when the backup
// is taken: it writes its ledger line first, then works a while.
const slowLedgerScript = "echo \"$EXEKRA_JOB_ID $EXEKRA_JOB_ATTEMPT\" >> \"$EXEKRA_PARAM_LEDGER\"\nsleep 6\necho done\n"

// TestDisasterRecovery backs a working Hub up with exekractl, destroys it
// (SIGKILL of the whole tree, its install dir removed), restores the archive
// into a fresh install on other ports, and checks that the Hub carries on:
// agents reconnect by themselves through the address they know, users sign
// in with their passwords, the audit chain verifies, jobs pending at the
// backup run exactly once, finished ones never again, packages download.
func TestDisasterRecovery(t *testing.T) {
	began := time.Now()
	v := newVendor(t)
	old, adminTok := licensedHub(t, v)
	_, opTok := user(t, old, adminTok, "operator@acme.test", "OPERATOR")
	// The agents know the Hub by an address that outlives the machine (a DNS
	// name or a load balancer in real life): a relay in front of the gateway.
	front := newRelay(t, old.env["EXEKRA_GATEWAY_LISTEN"])
	ca := filepath.Join(t.TempDir(), "hub.crt")
	certBytes, err := os.ReadFile(filepath.Join(old.home, "config", "certs", "hub.crt"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ca, certBytes, 0o644)
	var agents []*agent
	for i := range 2 {
		id, secret := registerRunner(t, old, adminTok, "dr-runner-"+strconv.Itoa(i))
		agents = append(agents, startAgentAt(t, "https://"+front.Addr(), ca, id, secret))
	}
	w := leaveWork(t, old, adminTok, opTok, adminTok, agents)

	archive := filepath.Join(t.TempDir(), "hub-backup.tar.gz")
	start := time.Now()
	out := exekractlWith(t, old.environ(), "backup", "--home", old.home, "--out", archive)
	backupTook := time.Since(start)
	info, err := os.Stat(archive)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v, mode %v\n%s", err, info, out)
	}
	t.Logf("exekractl backup:\n%s", out)

	old.destroy(t)
	for _, a := range agents {
		a.cmd.Process.Signal(syscall.SIGCONT) // they live through the outage, backing off
	}
	outage := time.Now()

	fresh := newHub(t) // another install dir, every port another
	fresh.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	start = time.Now()
	out = exekractlWith(t, fresh.environ(), "restore", "--home", fresh.home, "--from", archive)
	restoreTook := time.Since(start)
	t.Logf("exekractl restore:\n%s", out)
	start = time.Now()
	fresh.start()
	startTook := time.Since(start)
	front.retarget(fresh.env["EXEKRA_GATEWAY_LISTEN"])
	retargeted := time.Now()
	var pendingDone, heartbeats time.Duration
	if restored, _ := os.ReadFile(filepath.Join(fresh.home, "config", "certs", "hub.crt")); !bytes.Equal(restored, certBytes) {
		t.Fatal("the restored Hub serves another certificate than the one the agents trust")
	}

	// Users sign in with their passwords (old sessions would still work too).
	adminTok = login(t, fresh, strings.ToLower(adminEmail), goodPassword)
	opTok = login(t, fresh, "operator@acme.test", goodPassword)
	t.Run("jobs pending at the backup run exactly once, finished ones never again", func(t *testing.T) {
		j := w.checkQueuedRanOnce(t, fresh, opTok)
		pendingDone = time.Since(retargeted)
		// Running at the backup (max_attempts 1): it keeps its lease and its
		// agent's result, delivered late, is taken; or the lease ran out first
		// and it failed runner_lost. Never a second run.
		if j["status"] != "succeeded" && (j["status"] != "failed" || j["error"] != "runner_lost") {
			t.Errorf("job running at the backup ended %v", j)
		}
		t.Logf("the job running at the backup ended %v (%v)", j["status"], j["error"])
	})
	t.Run("the agents heartbeat again with their credentials", func(t *testing.T) {
		waitFor(t, 90*time.Second, "both agents heartbeating to the restored Hub", func() bool {
			for _, a := range agents {
				r := fresh.as(adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+a.id, nil)
				seen, _ := r["last_seen_at"].(string) // none yet: presence lived in the lost Redis
				at, _ := time.Parse(time.RFC3339Nano, seen)
				if !at.After(retargeted) {
					return false
				}
			}
			return true
		})
		heartbeats = time.Since(retargeted)
	})
	t.Run("the audit chain verifies and holds everything logged before the backup", func(t *testing.T) {
		w.checkAuditKept(t, fresh, adminTok, ca)
	})
	t.Run("packages are still there and still immutable", func(t *testing.T) {
		if code, _ := publish(t, fresh, adminTok, packageZip(t, "ledger", "1.0.0", ledgerScript)); code != http.StatusConflict {
			t.Fatalf("publishing a restored version again = %d, want 409", code)
		}
	})
	t.Logf("backup %d bytes in %.1fs; restore %.1fs; restored Hub healthy %.1fs after its start (%.1fs after the destruction); "+
		"after the Hub's address answered again: the jobs pending at the backup and a new one done in %.1fs, both agents heartbeating in %.1fs; test %.0fs",
		info.Size(), backupTook.Seconds(), restoreTook.Seconds(), startTook.Seconds(), retargeted.Sub(outage).Seconds(),
		pendingDone.Seconds(), heartbeats.Seconds(), time.Since(began).Seconds())
}

// exekractlWith runs the admin CLI with env (the Hub's EXEKRA_* settings).
func exekractlWith(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "exekractl"), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("exekractl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// destroy is the disaster: every process of the hub SIGKILLed at once, its
// install dir removed.
func (h *hub) destroy(t *testing.T) {
	t.Helper()
	pids := []int{h.pidOf("redis-server")}
	for _, p := range processesOf(h.home) {
		pids = append(pids, p.pid)
	}
	for _, pid := range pids {
		if pid > 0 { // kill(0) would hit the test's own process group
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	<-h.exited
	waitFor(t, 10*time.Second, "every process of the hub gone", func() bool {
		return len(processesOf(h.home)) == 0 && h.pidOf("redis-server") == 0
	})
	if err := os.RemoveAll(h.home); err != nil {
		t.Fatal(err)
	}
}

// startAgentAt runs an agent against hubURL trusting the certificate in ca
// (startAgent with the Hub's address and certificate given).
func startAgentAt(t *testing.T, hubURL, ca, id, secret string, flags ...string) *agent {
	t.Helper()
	return startAgentFrom(t, binDir, hubURL, ca, id, secret, flags...)
}

// startAgentFrom is startAgentAt with the exekra-runner of the programs in bin.
func startAgentFrom(t *testing.T, bin, hubURL, ca, id, secret string, flags ...string) *agent {
	t.Helper()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	a := &agent{id: id, secret: secret, out: &syncBuffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(filepath.Join(bin, "exekra-runner"), append([]string{"--hub", hubURL, "--id", id, "--secret-file", secretFile,
		"--work-dir", dir, "--ca", ca}, flags...)...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.cmd.Process.Signal(syscall.SIGCONT)
		a.cmd.Process.Kill()
		<-a.exited
		if t.Failed() {
			t.Logf("agent %s output:\n%s", id, tail(a.out.String(), 3000))
		}
	})
	return a
}

// wantLedger checks that the ledger holds exactly one run of each job in ids
// and no other run.
func wantLedger(t *testing.T, ledger string, ids []string) {
	t.Helper()
	raw, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			runs[f[0]]++
		}
	}
	for _, id := range ids {
		if runs[id] != 1 {
			t.Errorf("job %s ran %d times", id, runs[id])
		}
		delete(runs, id)
	}
	if len(runs) != 0 {
		t.Errorf("runs of jobs nobody started: %v", runs)
	}
}

// relay forwards TCP to a target that can change, as a DNS name or a load
// balancer in front of the Hub would when the Hub moves to another machine.
// (faultProxy's target is fixed: it is read without a lock.)
type relay struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	gen    int
	conns  map[net.Conn]struct{}
}

func newRelay(t testing.TB, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go r.accept()
	t.Cleanup(func() { ln.Close(); r.retarget("") })
	return r
}

func (r *relay) Addr() string { return r.ln.Addr().String() }

func (r *relay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.pipe(c)
	}
}

func (r *relay) pipe(c net.Conn) {
	r.mu.Lock()
	target, gen := r.target, r.gen
	r.mu.Unlock()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	if gen != r.gen { // retargeted while dialing
		r.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	r.conns[c], r.conns[up] = struct{}{}, struct{}{}
	r.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, up)
	r.mu.Unlock()
}

// retarget sends new connections to target and drops the open ones.
func (r *relay) retarget(target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target, r.gen = target, r.gen+1
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}
