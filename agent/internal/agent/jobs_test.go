//go:build unix

package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	jobA = "11111111-1111-4111-8111-111111111111"
	jobB = "22222222-2222-4222-8222-222222222222"
	jobC = "33333333-3333-4333-8333-333333333333"
)

const paramsScript = `params=$(cat)
echo "params:$params"
echo "env:$EXEKRA_PARAM_GREETING_TEXT:$EXEKRA_PARAM_COUNT:$EXEKRA_JOB_ID"
i=1
while [ $i -le 250 ]; do echo "line $i"; i=$((i+1)); done
echo "to stderr" >&2
exit "$EXEKRA_PARAM_CODE"
`

func TestJobRunsAndSucceeds(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, paramsScript))
	params := `{"greeting text":"hi there","count":3,"code":0}`
	g.enqueue(claimedJob{ID: jobA, Package: ref, Parameters: json.RawMessage(params), TimeoutSeconds: 60, Attempt: 1})
	startAgent(t, g, t.TempDir())
	cb := g.waitCompletion(t, jobA, 20*time.Second)
	if cb.Status != "succeeded" || cb.ExitCode == nil || *cb.ExitCode != 0 || cb.Attempt != 1 || cb.Error != "" {
		t.Fatalf("completion %+v", cb)
	}
	_, _, logs := g.snapshot()
	lines := logs[jobA+"/1"]
	var stdout, stderr []string
	for _, l := range lines {
		if l.TS.IsZero() {
			t.Fatalf("line without ts: %+v", l)
		}
		if l.Stream == "stdout" {
			stdout = append(stdout, l.Message)
		} else {
			stderr = append(stderr, l.Message)
		}
	}
	t.Run("parameters arrive on stdin and as EXEKRA_PARAM_ variables", func(t *testing.T) {
		if len(stdout) < 2 || stdout[0] != "params:"+params || stdout[1] != "env:hi there:3:"+jobA {
			t.Fatalf("stdout starts %q", stdout[:min(2, len(stdout))])
		}
	})
	t.Run("logs arrive in order, in batches of at most 100", func(t *testing.T) {
		if len(stdout) != 252 {
			t.Fatalf("%d stdout lines", len(stdout))
		}
		for i := 1; i <= 250; i++ {
			if stdout[i+1] != "line "+strconv.Itoa(i) {
				t.Fatalf("line %d is %q", i+1, stdout[i+1])
			}
		}
		if !slices.Equal(stderr, []string{"to stderr"}) {
			t.Fatalf("stderr %q", stderr)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, n := range g.batches[jobA+"/1"] {
			if n > 100 || n == 0 {
				t.Fatalf("batches %v", g.batches[jobA+"/1"])
			}
		}
	})
}

func TestJobFailsOnExitCode(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, paramsScript))
	g.enqueue(claimedJob{ID: jobA, Package: ref, Parameters: json.RawMessage(`{"code":3}`), TimeoutSeconds: 60, Attempt: 2})
	startAgent(t, g, t.TempDir())
	cb := g.waitCompletion(t, jobA, 20*time.Second)
	if cb.Status != "failed" || cb.ExitCode == nil || *cb.ExitCode != 3 || cb.Attempt != 2 {
		t.Fatalf("completion %+v", cb)
	}
}

func TestJobPackageRefused(t *testing.T) {
	g := newGateway(t)
	good := g.publish("demo", "1.0.0", scriptPackage(t, "echo ran\n"))
	bad := good
	bad.SHA256 = strings.Repeat("0", 64)
	short := good
	short.SizeBytes--
	slip := g.publish("slip", "1.0.0", zipOf(t, map[string]string{
		"exekra.json": `{"name":"slip","version":"1.0.0","entrypoint":["sh","-c","echo ran"]}`,
		"../x":        "escaped",
	}))
	g.enqueue(
		claimedJob{ID: jobA, Package: bad, TimeoutSeconds: 60, Attempt: 1},
		claimedJob{ID: jobB, Package: short, TimeoutSeconds: 60, Attempt: 1},
		claimedJob{ID: jobC, Package: slip, TimeoutSeconds: 60, Attempt: 1},
	)
	ra := startAgent(t, g, t.TempDir())
	for id, want := range map[string]string{jobA: "SHA-256 mismatch", jobB: "bytes", jobC: `path with ".."`} {
		cb := g.waitCompletion(t, id, 20*time.Second)
		if cb.Status != "failed" || !strings.Contains(cb.Error, want) || cb.ExitCode != nil {
			t.Fatalf("%s: completion %+v", id, cb)
		}
	}
	_, _, logs := g.snapshot()
	for k, ls := range logs {
		for _, l := range ls {
			if l.Message == "ran" {
				t.Fatalf("%s ran", k)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(ra.agent.jobs.jobsDir, "x")); err == nil {
		t.Fatal("the zip-slip entry was written")
	}
}

// treeScript starts a child that ignores SIGTERM (so SIGKILL is needed),
// prints its pid and waits.
const treeScript = `trap '' TERM
sleep 300 &
echo "child $!"
wait
`

func childPid(t *testing.T, g *gateway, key string) int {
	var pid int
	waitFor(t, 10*time.Second, "the child's pid", func() bool {
		_, _, logs := g.snapshot()
		for _, l := range logs[key] {
			if n, ok := strings.CutPrefix(l.Message, "child "); ok {
				pid, _ = strconv.Atoi(n)
				return true
			}
		}
		return false
	})
	return pid
}

// dead reports whether pid is gone (or a zombie nobody has reaped yet).
func dead(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func TestJobCanceledByHeartbeat(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, treeScript))
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 600, Attempt: 1})
	startAgent(t, g, t.TempDir())
	pid := childPid(t, g, jobA+"/1")
	waitFor(t, 10*time.Second, "a heartbeat naming the job", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, hb := range g.hbs {
			if slices.Contains(hb.RunningJobIDs, jobA) {
				return true
			}
		}
		return false
	})
	g.mu.Lock()
	g.cancelHB[jobA] = true
	g.mu.Unlock()
	cb := g.waitCompletion(t, jobA, 20*time.Second)
	if cb.Status != "canceled" {
		t.Fatalf("completion %+v", cb)
	}
	waitFor(t, 5*time.Second, "the child to die", func() bool { return dead(pid) })
}

func TestJobCanceledByLogsReply(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, "while :; do echo tick; sleep 0.05; done\n"))
	g.mu.Lock()
	g.cancelLog[jobA] = true
	g.mu.Unlock()
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 600, Attempt: 1})
	startAgent(t, g, t.TempDir())
	if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "canceled" {
		t.Fatalf("completion %+v", cb)
	}
}

func TestJobTimeout(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, treeScript))
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 1, Attempt: 1})
	startAgent(t, g, t.TempDir())
	pid := childPid(t, g, jobA+"/1")
	cb := g.waitCompletion(t, jobA, 20*time.Second)
	if cb.Status != "failed" || cb.Error != "timeout" {
		t.Fatalf("completion %+v", cb)
	}
	waitFor(t, 5*time.Second, "the child to die", func() bool { return dead(pid) })
}

func TestJournal(t *testing.T) {
	state := t.TempDir()
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo ran\n"))

	// First run: job A runs; the Hub cannot take its result.
	g.completeStatus = 503
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
	ra := startAgent(t, g, state)
	waitFor(t, 20*time.Second, "a completion attempt", func() bool {
		ev, _, _ := g.snapshot()
		return slices.Contains(ev, "complete "+jobA+"/1")
	})
	if err := ra.stop(); err != nil {
		t.Fatal(err)
	}

	// Second run: the result is delivered before any claim; job A attempt
	// 1, handed out again (a restored Hub), does not run again — its result
	// is reported once more; attempt 2 runs.
	g.mu.Lock()
	g.completeStatus = 0
	g.events = nil
	g.logs = map[string][]logLine{}
	g.queue = append(g.queue, claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1},
		claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 2})
	g.mu.Unlock()
	startAgent(t, g, state)
	waitFor(t, 20*time.Second, "attempt 2's completion", func() bool {
		ev, _, _ := g.snapshot()
		return slices.Contains(ev, "complete "+jobA+"/2")
	})
	ev, completes, logs := g.snapshot()
	if ev[0] != "complete "+jobA+"/1" {
		t.Fatalf("events %v", ev)
	}
	if len(logs[jobA+"/1"]) != 0 || len(logs[jobA+"/2"]) == 0 {
		t.Fatalf("logs %v", logs)
	}
	n := 0
	for _, c := range completes {
		if c.id == jobA && c.body.Attempt == 1 {
			n++
			if c.body.Status != "succeeded" {
				t.Fatalf("completion %+v", c)
			}
		}
	}
	if n != 2 {
		t.Fatalf("attempt 1 reported %d times, want 2 (after the restart and when handed out again): %v", n, ev)
	}
}

// A result the Hub refuses as stale is dropped, not sent again, whether it
// went on its own or rode on a claim; the agent goes on claiming.
func TestStaleCompletionDropped(t *testing.T) {
	for _, onClaim := range []bool{false, true} {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo ran\n"))
		g.completeStatus = 409
		if onClaim {
			g.status = "claimed"
		}
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
		state := t.TempDir()
		ra := startAgent(t, g, state)
		waitFor(t, 20*time.Second, "a completion attempt", func() bool {
			ev, _, _ := g.snapshot()
			return slices.Contains(ev, "complete "+jobA+"/1")
		})
		waitFor(t, 5*time.Second, "the result to be dropped", func() bool { return len(ra.agent.jobs.journal.pending()) == 0 })
		time.Sleep(300 * time.Millisecond)
		ev, _, _ := g.snapshot()
		if c := strings.Count(strings.Join(ev, ","), "complete"); c != 1 {
			t.Fatalf("on a claim %v: completion retried: %v", onClaim, ev)
		}
		if i := slices.Index(ev, "complete "+jobA+"/1"); !slices.Contains(ev[i+1:], "claim") {
			t.Fatalf("on a claim %v: events %v: the agent claims no more after the refused result", onClaim, ev)
		}
		g.mu.Lock()
		carried := g.resultClaims
		g.mu.Unlock()
		if onClaim != (carried == 1) {
			t.Fatalf("on a claim %v: %d results rode on claims", onClaim, carried)
		}
	}
}

// A result rides on the next claim to a Hub that reads it there (its
// claims name the job's status); a Hub that refuses that claim itself (an
// agent version outside its policy, 426) gets the result on its own, as
// does an older Hub, which would not read a result on a claim.
func TestResultRidesOnTheNextClaim(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo ran\n"))
		g.mu.Lock()
		g.refuseResultClaims, g.status = refuse, "claimed"
		g.mu.Unlock()
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
		startAgent(t, g, t.TempDir())
		if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "succeeded" {
			t.Fatalf("completion %+v", cb)
		}
		g.mu.Lock()
		onClaim, alone := g.resultClaims, slices.Contains(g.alone, jobA)
		g.mu.Unlock()
		if !refuse && (onClaim != 1 || alone) {
			t.Fatalf("results on claims %d, on their own %v: want the result on the next claim", onClaim, alone)
		}
		if refuse && (onClaim != 1 || !alone) {
			t.Fatalf("results on claims %d, on their own %v: want it on its own after the claim was refused", onClaim, alone)
		}
	}
	t.Run("an older Hub", func(t *testing.T) {
		g := newGateway(t) // its claims name no status
		ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo ran\n"))
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
		startAgent(t, g, t.TempDir())
		g.waitCompletion(t, jobA, 20*time.Second)
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.resultClaims != 0 || !slices.Contains(g.alone, jobA) {
			t.Fatalf("results on claims %d, on their own %v: want it on its own", g.resultClaims, g.alone)
		}
	})
}

// A claim whose reply is lost is asked again under the same claim id (and
// so gets the job it was handed); an answered claim's successor has a new id.
func TestClaimRetriedUnderItsID(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo hi\n"))
	g.mu.Lock()
	g.loseClaims = 1
	g.mu.Unlock()
	g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
	startAgent(t, g, t.TempDir())
	if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "succeeded" {
		t.Fatalf("completion %+v", cb)
	}
	waitFor(t, 5*time.Second, "a claim after the job", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.claimIDs) >= 3
	})
	g.mu.Lock()
	ids := slices.Clone(g.claimIDs)
	g.mu.Unlock()
	if len(ids[0]) != 32 || ids[1] != ids[0] || ids[2] == ids[1] {
		t.Fatalf("claim ids %q: want the lost claim repeated under its id, then a new id", ids)
	}
}

// The agent takes a job up before it downloads or runs anything; a job the
// Hub has given to another runner meanwhile (409) is not run at all.
func TestJobTakenUpBeforeItRuns(t *testing.T) {
	t.Run("taken up, then downloaded", func(t *testing.T) {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo hi\n"))
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 3})
		startAgent(t, g, t.TempDir())
		g.waitCompletion(t, jobA, 20*time.Second)
		events, _, _ := g.snapshot()
		up, down := slices.Index(events, "take-up "+jobA+"/3"), slices.Index(events, "download demo")
		if up < 0 || down < 0 || up > down {
			t.Fatalf("events %q: want the take-up before the download", events)
		}
	})
	t.Run("the claim took it up: no take-up upload", func(t *testing.T) {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo hi\n"))
		g.mu.Lock()
		g.status = "running"
		g.mu.Unlock()
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 2})
		startAgent(t, g, t.TempDir())
		if cb := g.waitCompletion(t, jobA, 20*time.Second); cb.Status != "succeeded" {
			t.Fatalf("completion %+v", cb)
		}
		events, _, _ := g.snapshot()
		if slices.Contains(events, "take-up "+jobA+"/2") || !slices.Contains(events, "download demo") {
			t.Fatalf("events %q: want the job run without a take-up upload", events)
		}
	})
	t.Run("refused: not run", func(t *testing.T) {
		g := newGateway(t)
		ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo hi\n"))
		g.mu.Lock()
		g.refuseTakeUp = true
		g.mu.Unlock()
		g.enqueue(claimedJob{ID: jobA, Package: ref, TimeoutSeconds: 60, Attempt: 1})
		startAgent(t, g, t.TempDir())
		waitFor(t, 10*time.Second, "the take-up", func() bool {
			events, _, _ := g.snapshot()
			return slices.Contains(events, "take-up "+jobA+"/1")
		})
		time.Sleep(500 * time.Millisecond)
		events, completes, _ := g.snapshot()
		if slices.Contains(events, "download demo") || len(completes) != 0 {
			t.Fatalf("a refused job ran: events %q, completions %v", events, completes)
		}
	})
}

// A package that runs again comes from the runner's cache, not the Hub; a
// cached file that changed on disk is dropped and downloaded again.
func TestPackageCachedBySHA256(t *testing.T) {
	g := newGateway(t)
	ref := g.publish("demo", "1.0.0", scriptPackage(t, "echo hi\n"))
	ra := startAgent(t, g, t.TempDir())
	downloads := func() int {
		events, _, _ := g.snapshot()
		n := 0
		for _, e := range events {
			if e == "download demo" {
				n++
			}
		}
		return n
	}
	for _, id := range []string{jobA, jobB} {
		g.enqueue(claimedJob{ID: id, Package: ref, TimeoutSeconds: 60, Attempt: 1})
		if cb := g.waitCompletion(t, id, 20*time.Second); cb.Status != "succeeded" {
			t.Fatalf("job %s: %+v", id, cb)
		}
	}
	if n := downloads(); n != 1 {
		t.Fatalf("two jobs of one package downloaded it %d times, want 1", n)
	}
	cached := ra.agent.jobs.packages.path(ref.SHA256)
	if err := os.WriteFile(cached, []byte("not the package"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.enqueue(claimedJob{ID: jobC, Package: ref, TimeoutSeconds: 60, Attempt: 1})
	if cb := g.waitCompletion(t, jobC, 20*time.Second); cb.Status != "succeeded" {
		t.Fatalf("job after the cached file changed: %+v", cb)
	}
	if n := downloads(); n != 2 {
		t.Fatalf("a changed cached file was used: %d downloads, want 2", n)
	}
}
