package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// wantReplicated checks that the AUDIT stream and the package store keep
// audit.stream_replicas (3) copies, all current, and returns the AUDIT
// stream's leader.
func wantReplicated(t *testing.T, streams map[string]jetstream.JetStream) string {
	t.Helper()
	var leader string
	for _, name := range []string{"AUDIT", "OBJ_EXEKRA_PACKAGES"} {
		js := streams[name]
		waitFor(t, 20*time.Second, "stream "+name+" with 3 current replicas", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			s, err := js.Stream(ctx, name)
			if err != nil {
				return false
			}
			info, err := s.Info(ctx)
			if err != nil || info.Cluster == nil {
				return false
			}
			if info.Config.Replicas != 3 {
				t.Fatalf("stream %s has %d replicas, want 3 (audit.stream_replicas)", name, info.Config.Replicas)
			}
			current := 0
			for _, p := range info.Cluster.Replicas {
				if p.Current {
					current++
				}
			}
			if name == "AUDIT" {
				leader = info.Cluster.Leader
			}
			return info.Cluster.Leader != "" && current == 2
		})
	}
	return leader
}

// direct is a client of one gateway, past the load balancer.
func direct(t *testing.T, gw *instance) *hub { return &hub{t: t, gateway: "https://" + gw.listen} }

// checkSignOutOnEveryGateway: a sign-out through one gateway ends the token
// on every gateway at once.
func checkSignOutOnEveryGateway(t *testing.T, e *enterprise, s *session) {
	t.Helper()
	_, tok := user(t, s.h, s.adminTok, "leaving@acme.test", "OPERATOR")
	for _, gw := range e.hubs["gateway"] {
		direct(t, gw).as(tok).must(http.StatusOK, "GET", "/api/v1/auth/me", nil)
	}
	s.h.as(tok).must(http.StatusNoContent, "POST", "/api/v1/auth/logout", nil)
	// The gateway that signed out refuses the token at once; another as soon
	// as identity's announcement reaches it over NATS (milliseconds; it has
	// to cross a route between nodes while the test's next request does not).
	ended := time.Now()
	for _, gw := range e.hubs["gateway"] {
		waitFor(t, time.Second, gw.name()+" refusing the signed-out token", func() bool {
			status, _ := direct(t, gw).as(tok).call("GET", "/api/v1/auth/me", nil)
			return status == http.StatusUnauthorized
		})
	}
	t.Logf("a sign-out was in force on every gateway %s after it was answered", time.Since(ended).Round(time.Millisecond))
}

// checkRotation regenerates a runner's machine secret five times through
// the load balancer; right after each, the old secret is refused and the new
// one accepted by each gateway directly.
func checkRotation(t *testing.T, e *enterprise, s *session) {
	gateways := e.hubs["gateway"]
	id, secret := registerRunner(t, s.h, s.adminTok, "rotated")
	for _, gw := range gateways {
		if code := heartbeatAs(t, direct(t, gw).gateway, id, secret); code != http.StatusOK {
			t.Fatalf("heartbeat through %s: %d", gw.name(), code)
		}
	}
	admin := s.h.as(s.adminTok)
	for round := range 5 {
		fresh := admin.must(http.StatusOK, "POST", "/api/v1/runners/"+id+"/regenerate-secret", nil)["machine_secret"].(string)
		for _, gw := range gateways {
			if code := heartbeatAs(t, direct(t, gw).gateway, id, secret); code != http.StatusUnauthorized {
				t.Fatalf("round %d: the old secret through %s right after the rotation: %d, want 401", round, gw.name(), code)
			}
		}
		secret = fresh
		for _, gw := range gateways {
			if code := heartbeatAs(t, direct(t, gw).gateway, id, secret); code != http.StatusOK {
				t.Fatalf("round %d: the new secret through %s: %d, want 200", round, gw.name(), code)
			}
		}
	}
	rotated := time.Now()
	waitFor(t, 45*time.Second, "five rotations in the audit log", func() bool {
		return auditCounts(t, admin, "runner.secret_regenerate", false)[id] >= 5
	})
	t.Logf("the rotations were in the audit log %.1fs after the last", time.Since(rotated).Seconds())
}

// checkJobsRanOnce: every acknowledged job is recorded and succeeded, no
// other job is recorded (the schedules' jobs aside: checkSchedulesFiredOnce
// accounts for them), and the ledger holds exactly one run of each.
func checkJobsRanOnce(t *testing.T, s *session, acked []string) {
	admin := s.h.as(s.adminTok)
	var listed []map[string]any
	waitFor(t, 90*time.Second, "every acknowledged job finished", func() bool {
		listed = slices.DeleteFunc(listAll(t, admin, "/api/v1/jobs", url.Values{}), func(j map[string]any) bool {
			return j["schedule_id"] != nil
		})
		for _, j := range listed {
			if st := j["status"]; st != "succeeded" && st != "failed" && st != "canceled" {
				return false
			}
		}
		return len(listed) >= len(acked)
	})
	recorded := map[string]bool{}
	for _, j := range listed {
		recorded[j["id"].(string)] = true
		if j["status"] != "succeeded" {
			t.Errorf("job %v", j)
		}
	}
	for _, id := range acked {
		if !recorded[id] {
			t.Errorf("acknowledged job %s is not recorded", id)
		}
		delete(recorded, id)
	}
	if len(recorded) > 0 {
		t.Errorf("%d jobs recorded that no start was acknowledged for", len(recorded))
	}
	wantLedger(t, s.ledger, acked)
}

// checkAuditComplete waits until the log holds an event for every
// acknowledged audited action, then checks job starts are there exactly
// once and the chain verifies.
func checkAuditComplete(t *testing.T, s *session, jobs, users []string, logins int) {
	admin := s.h.as(s.adminTok)
	var gaps []string
	waitFor(t, 60*time.Second, "every acknowledged action in the audit log", func() bool {
		gaps = missing(auditCounts(t, admin, "job.create", false), jobs, 1)
		gaps = append(gaps, missing(auditCounts(t, admin, "user.create", false), users, 1)...)
		gaps = append(gaps, missing(auditCounts(t, admin, "runner.register", false), s.runnerIDs, 1)...)
		if n := auditCounts(t, admin, "auth.login", true)[s.opID]; n < logins {
			gaps = append(gaps, fmt.Sprintf("auth.login of the operator: %d events, %d acknowledged", n, logins))
		}
		for _, action := range []string{"license.activate", "setup.bootstrap", "package.publish"} {
			if n := total(auditCounts(t, admin, action, false)); n != 1 {
				gaps = append(gaps, fmt.Sprintf("%s: %d events", action, n))
			}
		}
		return len(gaps) == 0
	})
	for id, n := range auditCounts(t, admin, "job.create", false) {
		if n != 1 {
			t.Errorf("job %s: %d job.create events, want 1", id, n)
		}
	}
	verify := admin.must(http.StatusOK, "GET", "/api/v1/audit/verify", nil)
	if verify["ok"] != true {
		t.Errorf("audit chain: %v", verify)
	}
	t.Logf("audit log: %v events, chain verified", verify["checked"])
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// checkOwnDatabases: a service's role reaches its own database and no other.
func checkOwnDatabases(t *testing.T, e *enterprise) {
	ctx := ctxT(t, 10*time.Second)
	for _, db := range []string{"exekra_identity", "exekra_runners"} {
		conn, err := pgx.Connect(ctx, e.pg.url("exekra_identity", e.dbPass["identity"], db))
		switch {
		case db == "exekra_identity" && err != nil:
			t.Fatalf("identity's role to its database: %v", err)
		case db != "exekra_identity" && (err == nil || !strings.Contains(err.Error(), "permission denied")):
			t.Errorf("identity's role to %s: %v, want permission denied", db, err)
		}
		if err == nil {
			conn.Close(context.Background())
		}
	}
}

// checkStrangersRefused: the layout's NATS nodes and Redis, configured from
// deploy/enterprise and exekractl credentials, refuse a client without TLS or
// a key, and hold a process with a key to its own subjects and keys.
func checkStrangersRefused(t *testing.T, e *enterprise) {
	ctx := context.Background()
	plain := strings.ReplaceAll(e.natsURL(), "tls://", "nats://")
	if nc, err := nats.Connect(plain, nats.Timeout(2*time.Second), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("a client without TLS or a key was let into the cluster")
	}
	if nc, err := nats.Connect(e.natsURL(), nats.RootCAs(e.natsCA), nats.Timeout(2*time.Second), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("a TLS client without a key was let into the cluster")
	}
	opts, _, err := busauth.ClientOptions(busauth.Runners, e.creds)
	if err != nil {
		t.Fatal(err)
	}
	violations := make(chan error, 10)
	nc, err := nats.Connect(e.natsURL(), append(opts, nats.RootCAs(e.natsCA), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))...)
	if err != nil {
		t.Fatalf("the runners' key over TLS: %v", err)
	}
	defer nc.Close()
	for _, subject := range []string{"exekra.identity.v1.users.create", "exekra.audit.events.identity"} {
		nc.Publish(subject, []byte(`{"email":"mallory@acme.test","role":"ADMIN"}`))
		nc.Flush()
		select {
		case err := <-violations:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Errorf("publish as runners on %s: %v, want a permissions violation", subject, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("publish as runners on %s was not refused", subject)
		}
	}

	opt, err := redis.ParseURL("redis://" + e.redisAddr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	stranger := redis.NewClient(opt)
	defer stranger.Close()
	if err := stranger.Set(ctx, "exekra:runners:cred:x", "forged", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Errorf("Redis without a password: %v, want NOAUTH", err)
	}
	for _, c := range []struct {
		user redisdb.User
		key  string
	}{{redisdb.Gateway, "exekra:runners:cred:x"}, {redisdb.Identity, "exekra:runners:cred:x"}, {redisdb.Runners, "exekra:identity:login:account:x"}} {
		client, err := redisdb.Open(ctx, "redis://"+e.redisAddr+"/0", c.user, e.creds, 5*time.Second)
		if err != nil {
			t.Fatalf("Redis as %s: %v", c.user, err)
		}
		err = client.Set(ctx, c.key, "forged", time.Minute).Err()
		client.Close()
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("Redis as %s writing %s: %v, want NOPERM", c.user, c.key, err)
		}
	}
}
