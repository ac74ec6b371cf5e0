package natsapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestHeartbeat(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvStaging)
	id := reg.Runner.ID
	resp, err := h.beat(gateway("203.0.113.9"), id, reg.MachineSecret, heartbeat())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the reply gives the interval, the server time and nothing to cancel", func(t *testing.T) {
		if resp.HeartbeatIntervalSeconds != 15 || !resp.ServerTime.Equal(h.clock.Now()) || resp.CancelJobIDs == nil || len(resp.CancelJobIDs) != 0 {
			t.Fatalf("reply %+v", resp)
		}
	})
	t.Run("presence shows at once, before any flush", func(t *testing.T) {
		r := h.get(t, id)
		if r.Status != runners.StatusOnline || r.LastSeenAt == nil || !r.LastSeenAt.Equal(h.clock.Now()) ||
			r.ConnectedFrom != "203.0.113.9" || r.Version != "0.1.0" || r.Commit != "0123456789ab" || r.OS != "linux/amd64" || r.Hostname != "build-01" ||
			r.Metrics != (runners.Metrics{CPUPercent: 12.5, MemoryPercent: 40, DiskFreeBytes: 50 << 30}) {
			t.Fatalf("runner %+v", r)
		}
		if seen := h.lastSeen(t, id); seen != nil {
			t.Fatalf("PostgreSQL has last_seen_at %v before a flush", seen)
		}
	})
	t.Run("a flush writes what the heartbeat told to PostgreSQL", func(t *testing.T) {
		if n, err := h.svc.Flush(t.Context()); err != nil || n != 1 {
			t.Fatalf("flush = %d, %v", n, err)
		}
		var addr, version, commit, os, host string
		var cpu, mem float64
		var disk int64
		err := h.pool.QueryRow(t.Context(), `SELECT connected_from, version, agent_commit, os, hostname, cpu_percent, memory_percent, disk_free_bytes
			FROM runners WHERE id = $1`, id).Scan(&addr, &version, &commit, &os, &host, &cpu, &mem, &disk)
		if err != nil || addr != "203.0.113.9" || version != "0.1.0" || commit != "0123456789ab" || os != "linux/amd64" || host != "build-01" || cpu != 12.5 || mem != 40 || disk != 50<<30 {
			t.Fatalf("row %s %s %s %s %v %v %v, %v", addr, version, os, host, cpu, mem, disk, err)
		}
		if seen := h.lastSeen(t, id); seen == nil || !seen.Equal(h.clock.Now()) {
			t.Fatalf("last_seen_at %v", seen)
		}
	})
	t.Run("with presence gone from Redis the flushed copy is shown", func(t *testing.T) {
		h.rdb.FlushAll(t.Context())
		if r := h.get(t, id); r.Status != runners.StatusOnline || r.Hostname != "build-01" || r.Commit != "0123456789ab" || r.Metrics.CPUPercent != 12.5 {
			t.Fatalf("runner %+v", r)
		}
	})
	t.Run("a flush with nothing new writes nothing", func(t *testing.T) {
		before := h.store.presence.Load()
		if n, err := h.svc.Flush(t.Context()); err != nil || n != 0 || h.store.presence.Load() != before {
			t.Fatalf("flush = %d, %v", n, err)
		}
	})
}

func (h *harness) lastSeen(t testing.TB, id string) *time.Time {
	t.Helper()
	var seen *time.Time
	if err := h.pool.QueryRow(t.Context(), "SELECT last_seen_at FROM runners WHERE id = $1", id).Scan(&seen); err != nil {
		t.Fatal(err)
	}
	return seen
}

func TestFlushBatches(t *testing.T) {
	h := newHarness(t)
	const n = 40
	regs := make([]runners.Registered, n)
	for i := range regs {
		regs[i] = h.register(t, fmt.Sprintf("r%02d", i), runners.EnvDevelopment)
	}
	for round := range 3 {
		for _, reg := range regs {
			hb := heartbeat()
			hb.Hostname = fmt.Sprintf("host-%d", round)
			if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, hb); err != nil {
				t.Fatal(err)
			}
		}
		h.clock.Advance(time.Second)
	}
	t.Run("120 heartbeats of 40 runners are one statement of 40 rows", func(t *testing.T) {
		statements, rows := h.store.presence.Load(), h.store.presenceRows.Load()
		if written, err := h.svc.Flush(t.Context()); err != nil || written != n {
			t.Fatalf("flush = %d, %v", written, err)
		}
		if got := h.store.presence.Load() - statements; got != 1 {
			t.Fatalf("%d statements", got)
		}
		if got := h.store.presenceRows.Load() - rows; got != n {
			t.Fatalf("%d rows", got)
		}
	})
	t.Run("every row holds the latest heartbeat", func(t *testing.T) {
		var stale int
		err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM runners WHERE hostname IS DISTINCT FROM 'host-2' OR last_seen_at <> $1",
			h.clock.Now().Add(-time.Second)).Scan(&stale)
		if err != nil || stale != 0 {
			t.Fatalf("%d stale rows, %v", stale, err)
		}
	})
	t.Run("an older sighting never replaces a newer one", func(t *testing.T) {
		h.clock.Advance(-time.Hour)
		if _, err := h.beat(gateway(sourceIP), regs[0].Runner.ID, regs[0].MachineSecret, heartbeat()); err != nil {
			t.Fatal(err)
		}
		h.svc.Flush(t.Context())
		if seen := h.lastSeen(t, regs[0].Runner.ID); !seen.Equal(h.clock.Now().Add(time.Hour - time.Second)) {
			t.Fatalf("last_seen_at %v", seen)
		}
	})
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction)
	status := func() string { return h.get(t, reg.Runner.ID).Status }
	beat := func(jobs ...string) {
		hb := heartbeat()
		hb.RunningJobIDs = jobs
		if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, hb); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"a runner that never sent a heartbeat is never_connected", func() {}, runners.StatusNeverConnected},
		{"after a heartbeat it is online", func() { beat() }, runners.StatusOnline},
		{"with a running job it is busy", func() { beat("job-1") }, runners.StatusBusy},
		{"without one again it is online", func() { beat() }, runners.StatusOnline},
		{"45 s (3 intervals) later it is still online", func() { h.clock.Advance(45 * time.Second) }, runners.StatusOnline},
		{"a moment later it is offline", func() { h.clock.Advance(time.Millisecond) }, runners.StatusOffline},
		{"a busy runner that went quiet is offline", func() { beat("job-2"); h.clock.Advance(time.Minute) }, runners.StatusOffline},
		{"the next heartbeat brings it back", func() { beat() }, runners.StatusOnline},
		{"a flushed runner whose presence left Redis goes offline too", func() {
			h.svc.Flush(t.Context())
			h.rdb.FlushAll(t.Context())
			h.clock.Advance(time.Hour)
		}, runners.StatusOffline},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.do()
			if got := status(); got != s.want {
				t.Fatalf("status %s, want %s", got, s.want)
			}
		})
	}
}

func TestProtocolVersion(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction)
	send := func(protocol string) error {
		req := runners.HeartbeatRequest{Credentials: runners.Credentials{RunnerID: reg.Runner.ID, SecretSHA256: runners.SecretSHA256(reg.MachineSecret)},
			Protocol: protocol, Heartbeat: heartbeat()}
		_, err := call[runners.HeartbeatResponse](gateway(sourceIP), h, runners.SubjectHeartbeat, req)
		return err
	}
	for _, v := range []string{"", "1"} {
		t.Run(fmt.Sprintf("protocol %q is spoken", v), func(t *testing.T) {
			if err := send(v); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, v := range []string{"2", "0", "1.1", "abc"} {
		t.Run(fmt.Sprintf("protocol %q is refused, naming the versions spoken", v), func(t *testing.T) {
			err := send(v)
			wantKind(t, err, errs.InvalidArgument)
			if _, msg := errs.Public(err); !strings.Contains(msg, "speaks 1") {
				t.Fatalf("message %q", msg)
			}
		})
	}
	t.Run("authenticate refuses an unknown protocol too", func(t *testing.T) {
		req := runners.AuthenticateRequest{Credentials: runners.Credentials{RunnerID: reg.Runner.ID, SecretSHA256: runners.SecretSHA256(reg.MachineSecret)}, Protocol: "9"}
		_, err := call[runners.Authenticated](gateway(sourceIP), h, runners.SubjectAuthenticate, req)
		wantKind(t, err, errs.InvalidArgument)
	})
}

func TestHeartbeatValidation(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvProduction)
	tests := []struct {
		name string
		edit func(*runners.Heartbeat)
	}{
		{"cpu over 100 %", func(hb *runners.Heartbeat) { hb.Metrics.CPUPercent = 100.5 }},
		{"negative memory", func(hb *runners.Heartbeat) { hb.Metrics.MemoryPercent = -1 }},
		{"negative free disk", func(hb *runners.Heartbeat) { hb.Metrics.DiskFreeBytes = -1 }},
		{"a version over 64 characters", func(hb *runners.Heartbeat) { hb.Version = strings.Repeat("v", 65) }},
		{"a hostname with a newline", func(hb *runners.Heartbeat) { hb.Hostname = "a\nb" }},
		{"more than 64 running jobs", func(hb *runners.Heartbeat) { hb.RunningJobIDs = make([]string, 65) }},
		{"an empty job id", func(hb *runners.Heartbeat) { hb.RunningJobIDs = []string{""} }},
	}
	for _, tt := range tests {
		t.Run("a heartbeat with "+tt.name+" is refused", func(t *testing.T) {
			hb := heartbeat()
			tt.edit(&hb)
			_, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, hb)
			wantKind(t, err, errs.InvalidArgument)
		})
	}
	t.Run("a malformed heartbeat from a stranger is refused as credentials first", func(t *testing.T) {
		hb := heartbeat()
		hb.Metrics.CPUPercent = 200
		_, err := h.beat(gateway(sourceIP), reg.Runner.ID, "exk_ms_wrong", hb)
		wantKind(t, err, errs.InvalidCredentials)
	})
}

// TestAgentVersionPolicy holds the skew policy: a Hub of 1.4.2 takes agents
// of 1.2 to 1.4, refuses older and newer ones with upgrade_required and
// records nothing of a refused heartbeat; a refused agent claims no job.
func TestAgentVersionPolicy(t *testing.T) {
	h := newJobsHarness(t)
	h.svc.HubVersion = "1.4.2"
	reg := h.register(t, "r1", runners.EnvProduction)
	beat := func(version string) error {
		hb := heartbeat()
		hb.Version = version
		_, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, hb)
		return err
	}
	for _, v := range []string{"1.4.2", "1.4.7", "1.2.0"} {
		t.Run("agent "+v+" is accepted and its version shown", func(t *testing.T) {
			if err := beat(v); err != nil {
				t.Fatal(err)
			}
			if r := h.get(t, reg.Runner.ID); r.Version != v || r.Commit != "0123456789ab" {
				t.Fatalf("runner shows version %q commit %q", r.Version, r.Commit)
			}
		})
	}
	h.clock.Advance(time.Second)
	for v, why := range map[string]string{"1.1.9": "older than the Hub", "1.5.0": "newer than the Hub",
		"2.0.0": "major version 1", "dev": "not a semantic version"} {
		t.Run("agent "+v+" is refused", func(t *testing.T) {
			err := beat(v)
			wantKind(t, err, errs.UpgradeRequired)
			if _, msg := errs.Public(err); !strings.Contains(msg, why) || !strings.Contains(msg, "1.4.2") {
				t.Fatalf("message %q", msg)
			}
			if r := h.get(t, reg.Runner.ID); r.Version != "1.2.0" || !r.LastSeenAt.Before(h.clock.Now()) {
				t.Fatalf("a refused heartbeat was recorded: version %q, seen %v", r.Version, r.LastSeenAt)
			}
		})
	}
	claim := func(userAgent string) error {
		req := runners.ClaimRequest{AgentRequest: agent(reg)}
		req.UserAgent = userAgent
		_, err := call[runners.ClaimResponse](gateway(sourceIP), h.harness, runners.SubjectClaim, req)
		return err
	}
	t.Run("an agent of a refused version gets no job either", func(t *testing.T) {
		wantKind(t, claim("exekra-runner/1.1.0"), errs.UpgradeRequired)
	})
	t.Run("an accepted agent, or another client, claims", func(t *testing.T) {
		for _, ua := range []string{"exekra-runner/1.4.2", "exekra-loadgen/x"} {
			if err := claim(ua); err != nil {
				t.Fatalf("%s: %v", ua, err)
			}
		}
	})
}
