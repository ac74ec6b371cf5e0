package e2e

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// enterprise is the layout of deploy/enterprise on one machine: a three-node
// NATS cluster, PostgreSQL with a database and role per service, Redis, two
// instances of every service and the test's load balancer before the two
// gateways, each a process of its own on 127.0.0.1.
type enterprise struct {
	dir       string
	pg        *pgServer
	dbPass    map[string]string
	redis     *serverProc
	redisAddr string
	nats      []*clusterNode
	natsCA    string // the nodes' certificate, its own CA
	creds     string // what exekractl credentials wrote: every key and password
	hubs      map[string][]*instance
	cert      string // the certificate shared by the load balancer and the gateways
	lb        *balancer
	bin       string // the programs the layout was started with (the agents' too)
}

// startEnterprise brings the layout up, every file of deploy/enterprise used
// as written but for the test's addresses, directories and passwords.
func startEnterprise(t *testing.T, v *vendor) *enterprise {
	t.Helper()
	return startEnterpriseFrom(t, v, binDir)
}

// startEnterpriseFrom is startEnterprise running the programs in bin.
func startEnterpriseFrom(t *testing.T, v *vendor, bin string) *enterprise {
	t.Helper()
	dir, err := os.MkdirTemp("", "exekra-ent-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &enterprise{dir: dir, creds: filepath.Join(dir, "credentials"), dbPass: map[string]string{}, hubs: map[string][]*instance{}, bin: bin}

	e.pg = startPostgres(t)
	vars := map[string]string{}
	for _, s := range services[:4] {
		e.dbPass[s] = rand.Text()
		vars[s+"_password"] = e.dbPass[s]
	}
	e.pg.psql(t, filepath.Join(enterpriseDir, "postgres", "create-databases.sql"), vars)
	// As the guide's "Credentials" says, on the admin's machine.
	os.MkdirAll(filepath.Join(dir, "nats"), 0o700)
	acl := filepath.Join(dir, "redis-users.acl")
	exekractl(t, "credentials", "--dir", e.creds, "--nats-authorization", filepath.Join(dir, "nats", "authorization.conf"), "--redis-acl", acl)
	natsCert, natsKey := selfSigned(t, dir, "nats-node", "127.0.0.1")
	e.natsCA = natsCert
	e.nats = startNATSCluster(t, dir, natsCert, natsKey)
	e.redis, e.redisAddr = startRedis(t, dir, acl)

	cert, key := selfSigned(t, dir, "hub", "hub.example", "127.0.0.1")
	e.cert = cert
	common := substitution{
		"redis.hub.example:6379": e.redisAddr, "/opt/exekra/hub/config/certs/nats-ca.crt": natsCert,
		"db.hub.example:5432": e.pg.addr, "/opt/exekra/hub/config/certs/db-ca.crt": e.pg.caFile,
		"CHANGE_ME_LICENSE_PUBLIC_KEY": v.pub, "10.20.0.5": "127.0.0.1", "10.20.0.6": "127.0.0.1",
	}
	for _, n := range e.nats {
		common[fmt.Sprintf("nats-%d.hub.example:4222", n.n)] = n.client
	}
	for s, pw := range e.dbPass {
		common["CHANGE_ME_"+strings.ToUpper(s)+"_DB_PASSWORD"] = pw
	}
	auditKey := newCheckpointKey()
	for _, s := range services {
		for n := 1; n <= 2; n++ {
			in := newInstance(t, dir, s, n, common, cert, key, auditKey, e.creds)
			in.bin = bin
			in.start()
			e.hubs[s] = append(e.hubs[s], in)
		}
	}
	for _, s := range services {
		for _, in := range e.hubs[s] {
			in.waitReady(t, 60*time.Second)
		}
	}
	gws := e.hubs["gateway"]
	e.lb = startBalancer(t, readNginxUpstream(t), []string{gws[0].listen, gws[1].listen}, cert, key)
	return e
}

// natsURL lists the three nodes, as nats.url does.
func (e *enterprise) natsURL() string {
	var urls []string
	for _, n := range e.nats {
		urls = append(urls, "tls://"+n.client)
	}
	return strings.Join(urls, ",")
}

// jetStream connects to the cluster as the Hub's process p does.
func (e *enterprise) jetStream(t *testing.T, p busauth.Principal) jetstream.JetStream {
	t.Helper()
	opts, _, err := busauth.ClientOptions(p, e.creds)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(e.natsURL(), append(opts, nats.RootCAs(e.natsCA), nats.MaxReconnects(-1))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestEnterprise runs the enterprise layout (deploy/enterprise) with two
// instances of every service behind a load balancer, drives the whole flow
// through it, then, under a steady load of job starts and API calls, kills a
// gateway, one instance of each service and a NATS node, and restarts Redis
// and PostgreSQL: the flow keeps going, no acknowledged job is lost or run
// twice, no acknowledged audited action is missing from the audit log, and a
// machine secret rotation is in force on both gateways at once; every-second
// schedules run through all of it (one runners instance killed with
// SIGKILL among the faults) and each fire time makes one job or one
// recorded skip, none twice, none missing.
func TestEnterprise(t *testing.T) {
	began := time.Now()
	v := newVendor(t)
	e := startEnterprise(t, v)
	t.Logf("layout up in %.1fs: 3 NATS nodes, PostgreSQL, Redis, %d Hub processes, the load balancer", time.Since(began).Seconds(), 2*len(services))
	s := setUp(t, e, v)
	// Each stream read as the process that may: the audit service, exekractl.
	streams := map[string]jetstream.JetStream{"AUDIT": e.jetStream(t, busauth.Audit), "OBJ_EXEKRA_PACKAGES": e.jetStream(t, busauth.Admin)}
	leader := wantReplicated(t, streams)
	t.Run("the bus and Redis refuse strangers and processes outside their rights", func(t *testing.T) { checkStrangersRefused(t, e) })
	t.Logf("flow through the load balancer done at %.1fs; AUDIT stream leader %s", time.Since(began).Seconds(), leader)
	checkSignOutOnEveryGateway(t, e, s)
	t.Run("a revoked or expired API token is refused on every gateway", func(t *testing.T) { checkTokensOnEveryGateway(t, e, s) })

	ld := &load{h: s.h, opTok: s.opTok, adminTok: s.adminTok, opEmail: s.opEmail, params: s.params, ledger: s.ledger}
	ld.start(2)
	defer func() {
		if !ld.stopped() {
			ld.halt()
		}
	}()
	ld.waitProgress(t, "the load started", 0, 30*time.Second)
	schedules := startSchedules(t, s)
	faults := time.Now()
	injectFaults(t, e, ld, leader)
	ld.halt()
	t.Logf("faults done in %.1fs", time.Since(faults).Seconds())

	t.Run("a machine secret rotation is in force on both gateways at once", func(t *testing.T) { checkRotation(t, e, s) })
	jobs, users, logins, calls := ld.snapshot()
	ld.mu.Lock()
	problems, retries, longest := ld.problems, ld.retries, ld.longest
	ld.mu.Unlock()
	t.Logf("load: %d jobs acknowledged, %d users created, %d sign-ins, %d API calls answered; %d attempts retried, longest call %.1fs; the load balancer passed %d requests on",
		len(jobs), len(users), logins, calls, retries, longest.Seconds(), e.lb.passedOn.Load())
	if len(problems) > 0 {
		t.Errorf("%d answers the API does not allow under faults:\n%s", len(problems), strings.Join(problems[:min(len(problems), 20)], "\n"))
	}
	jobs = append(slices.Clone(s.warm), jobs...)
	t.Run("every acknowledged job ran exactly once", func(t *testing.T) { checkJobsRanOnce(t, s, jobs) })
	t.Run("every second of the schedules under the faults fired once", func(t *testing.T) { checkSchedulesFiredOnce(t, s, schedules) })
	t.Run("no acknowledged audited action is missing from the log", func(t *testing.T) {
		checkAuditComplete(t, s, jobs, append([]string{s.devID, s.opID}, users...), logins+1) // +1: setUp's sign-in
	})
	t.Run("each service's database is its own", func(t *testing.T) { checkOwnDatabases(t, e) })
	wantReplicated(t, streams)
	t.Logf("TestEnterprise took %.1fs", time.Since(began).Seconds())
}

// session is what the setup made, all through the load balancer.
type session struct {
	h                *hub // its gateway is the load balancer
	adminTok, devTok string
	opTok, opEmail   string
	devID, opID      string
	runnerIDs        []string
	ledger           string
	params           map[string]any // of the ledger jobs
	warm             []string       // the first jobs
}

// setUp activates a license, bootstraps the first admin (twenty bootstraps
// at once over both gateways and both identity instances: exactly one
// wins), signs in, creates users with roles, publishes the ledger package,
// registers three runners with real agents and runs three jobs on them.
func setUp(t *testing.T, e *enterprise, v *vendor) *session {
	t.Helper()
	s := &session{h: &hub{t: t, gateway: e.lb.url}, opEmail: "operator@acme.test", ledger: filepath.Join(e.dir, "ledger")}
	s.params = map[string]any{"ledger": s.ledger}
	anon := s.h.as("")
	if st := anon.must(http.StatusOK, "GET", "/api/v1/setup", nil); st["licensed"] != false {
		t.Fatalf("fresh setup = %v", st)
	}
	if lic := anon.must(http.StatusOK, "POST", "/api/v1/license", map[string]string{"license": v.issue(adminEmail, "10")}); lic["status"] != "active" {
		t.Fatalf("activation = %v", lic)
	}
	raceBootstrap(t, anon, map[string]string{"email": adminEmail, "password": goodPassword, "name": "First Admin"})
	s.adminTok = login(t, s.h, adminEmail, goodPassword)
	s.devID, s.devTok = user(t, s.h, s.adminTok, "developer@acme.test", "DEVELOPER")
	s.opID, s.opTok = user(t, s.h, s.adminTok, s.opEmail, "OPERATOR")
	if code, raw := publish(t, s.h, s.devTok, packageZip(t, "ledger", "1.0.0", ledgerScript)); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	for i := range 3 {
		id, secret := registerRunner(t, s.h, s.adminTok, fmt.Sprintf("ent-runner-%d", i))
		startAgentFrom(t, e.bin, e.lb.url, e.cert, id, secret, "--max-jobs", "4")
		s.runnerIDs = append(s.runnerIDs, id)
	}
	for range 3 {
		s.warm = append(s.warm, startJob(t, s.h, s.opTok, "ledger", map[string]any{"parameters": s.params}))
	}
	wantRunOnce(t, s.h, s.opTok, s.ledger, s.warm, 60*time.Second)
	waitFor(t, 15*time.Second, "package.publish in the audit log", func() bool {
		return len(auditEvents(t, s.h, s.adminTok, url.Values{"action": {"package.publish"}})) == 1
	})
	return s
}

// injectFaults runs the faults one after another under the load, each left
// in place a while; the killed processes come back at the end, as systemd
// would restart them.
func injectFaults(t *testing.T, e *enterprise, ld *load, auditLeader string) {
	t.Helper()
	step := func(what string, fault func()) {
		t.Helper()
		t.Logf("%5.1fs: %s", time.Since(ld.began).Seconds(), what)
		fault()
		ld.waitProgress(t, what, 2*time.Second, 60*time.Second)
	}
	gateway := e.hubs["gateway"][0]
	step(gateway.name()+" killed", gateway.kill)
	step(gateway.name()+" started again", func() { gateway.start(); gateway.waitReady(t, 30*time.Second) })
	var killed []*instance
	kill := func(in *instance) {
		step(in.name()+" killed", in.kill)
		killed = append(killed, in)
	}
	// audit first: the events its instance held unacknowledged come again
	// after the consumer's 30 s, while the other faults run.
	kill(e.hubs["audit"][0])
	kill(e.hubs["identity"][0])
	kill(e.hubs["licensing"][0])
	i := slices.IndexFunc(e.nats, func(n *clusterNode) bool { return n.name == auditLeader })
	if i < 0 {
		t.Fatalf("the AUDIT stream's leader %q is none of the nodes", auditLeader)
	}
	down := e.nats[i]
	step(down.name+" (the AUDIT stream's leader) killed", down.kill)
	step("Redis restarted", func() {
		e.redis.kill()
		e.redis.start()
		waitRedis(t, e.redis, e.redisAddr)
	})
	step("PostgreSQL restarted", func() {
		if err := e.pg.pgctl("-m", "fast", "-w", "-t", "60", "restart"); err != nil {
			t.Fatal(err)
		}
	})
	// A runners instance that dies: the gateways send the claims waiting in
	// it to the other instance once its announcements lapse (3 s).
	kill(e.hubs["runners"][0])
	step("the killed processes started again", func() {
		down.start()
		for _, in := range killed {
			in.start()
		}
		down.waitJetStream(t, 30*time.Second)
		for _, in := range killed {
			in.waitReady(t, 60*time.Second)
		}
	})
}
