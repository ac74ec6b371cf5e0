package natsapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/postgres"
	"github.com/exekra/hub/services/runners/internal/prom"
	"github.com/exekra/hub/services/runners/internal/redisq"
	"github.com/exekra/hub/services/runners/internal/redisstate"
	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

const sourceIP = "198.51.100.7"

// clock is a controllable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingStore counts the PostgreSQL calls the runner side makes.
type countingStore struct {
	*postgres.Store
	credential, presence, events, reads atomic.Int64
	presenceRows                        atomic.Int64
}

func (s *countingStore) Credential(ctx context.Context, id string) (runner.Credential, error) {
	s.credential.Add(1)
	return s.Store.Credential(ctx, id)
}

func (s *countingStore) RecordPresence(ctx context.Context, seen map[string]runner.Presence) error {
	s.presence.Add(1)
	s.presenceRows.Add(int64(len(seen)))
	return s.Store.RecordPresence(ctx, seen)
}

func (s *countingStore) RecordEvent(ctx context.Context, ev audit.Event) error {
	s.events.Add(1)
	return s.Store.RecordEvent(ctx, ev)
}

func (s *countingStore) RunnerByID(ctx context.Context, id string) (runner.Runner, error) {
	s.reads.Add(1)
	return s.Store.RunnerByID(ctx, id)
}

// pgCalls is every counted call.
func (s *countingStore) pgCalls() int64 {
	return s.credential.Load() + s.presence.Load() + s.events.Load() + s.reads.Load()
}

// harness is the runners service's registry on real PostgreSQL, Redis and
// NATS, with a licensing stand-in answering licensing.SubjectCheck. Its
// heartbeats reach jobs, a jobs domain built from jobDeps (newJobsHarness
// serves the jobs operations too).
type harness struct {
	pool    *pgxpool.Pool
	rdb     *redis.Client
	store   *countingStore
	deps    runner.Deps
	svc     *runner.Service
	jobDeps job.Deps
	jobs    *job.Service
	client  *natsrpc.Client
	clock   *clock
	reg     *prometheus.Registry
	url     string
	log     *slog.Logger

	mu         sync.Mutex
	maxRunners int // 0: no license
	checks     []licensing.CheckRequest
}

// newHarness builds and serves the registry; tune adjusts the jobs domain.
func newHarness(t testing.TB, tune ...func(*job.Deps)) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{pool: pgtest.Pool(t, "runners"), rdb: redistest.Client(t), maxRunners: 100,
		clock: &clock{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}, reg: prometheus.NewRegistry()}
	files, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, h.pool, "runners", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	url := natstest.URL(t)
	h.url = url
	h.client = natsrpc.NewClient(natstest.Connect(t, url), nil)
	h.store = &countingStore{Store: postgres.NewStore(h.pool, outbox.Writer{Service: "runners"})}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	h.log = log
	license := natsapi.NewLicense(h.client, h.clock.Now)
	h.deps = runner.Deps{Store: h.store, Cache: redisstate.NewCache(h.rdb), Presences: redisstate.NewPresences(h.rdb),
		Limiter: tokenbucket.New(h.rdb), License: license, Meter: prom.New(h.reg),
		Log: log, Now: h.clock.Now}
	h.svc = h.service(t)
	h.jobDeps = job.Deps{Store: h.store.Store.Jobs(), Queue: redisq.New(h.rdb, runners.Environments),
		Runners: natsapi.Registry(h.svc), License: license, Meter: prom.NewJobs(h.reg), Log: h.log,
		Now: h.clock.Now, TimeoutGrace: -1, Recheck: 2 * time.Second}
	for _, fn := range tune {
		fn(&h.jobDeps)
	}
	if err := h.jobDeps.Queue.Mark(ctx); err != nil { // as the service's maintenance does at start
		t.Fatal(err)
	}
	h.jobs = h.jobService(t)
	natsrpctest.Serve(t, natstest.Connect(t, url), log, "exekra-licensing", natsrpc.Handle(licensing.SubjectCheck, h.check))
	natsrpctest.Serve(t, natstest.Connect(t, url), log, "exekra-runners", natsapi.Endpoints(h.svc, h.jobs)...)
	return h
}

// jobService builds another instance of the jobs domain (without a watcher).
func (h *harness) jobService(t testing.TB) *job.Service {
	t.Helper()
	svc, err := job.NewService(h.jobDeps)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// service builds another instance of the service on the same PostgreSQL
// and Redis, as a second process would be.
func (h *harness) service(t testing.TB) *runner.Service {
	t.Helper()
	svc, err := runner.NewService(h.deps)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// check is the licensing stand-in: maxRunners runners at most.
func (h *harness) check(_ context.Context, req licensing.CheckRequest) (licensing.CheckResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, req)
	switch {
	case h.maxRunners == 0:
		return licensing.CheckResponse{}, errs.E(errs.LicenseRequired, "activate a license first")
	case req.Action == licensing.ActionJobCreate:
		return licensing.CheckResponse{Status: licensing.StatusActive}, nil
	case req.Action != licensing.ActionRunnerRegister:
		return licensing.CheckResponse{}, errs.E(errs.InvalidArgument, "unexpected action")
	case req.Runners > h.maxRunners:
		return licensing.CheckResponse{}, errs.Ef(errs.LicenseLimit, "the license allows %d runners", h.maxRunners)
	}
	return licensing.CheckResponse{Status: licensing.StatusActive}, nil
}

func (h *harness) license(maxRunners int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maxRunners = maxRunners
}

// Actors.
var (
	admin     = caller.Actor{Type: "user", ID: "9f1c9b7e-0000-4000-8000-000000000001", Role: "ADMIN", Email: "ada@x.test"}
	developer = caller.Actor{Type: "user", ID: "9f1c9b7e-0000-4000-8000-000000000002", Role: "DEVELOPER", Email: "dev@x.test"}
	operator  = caller.Actor{Type: "user", ID: "9f1c9b7e-0000-4000-8000-000000000003", Role: "OPERATOR", Email: "op@x.test"}
)

// as is a context acting as actor from the test source address.
func as(actor caller.Actor) context.Context { return from(actor, sourceIP) }

func from(actor caller.Actor, ip string) context.Context {
	return caller.With(context.Background(), caller.Info{RequestID: "req-test", Actor: actor, SourceIP: ip})
}

// gateway is a runner request as the gateway sends it: anonymous, from ip.
func gateway(ip string) context.Context { return from(caller.Actor{Type: "anonymous"}, ip) }

func call[Resp any](ctx context.Context, h *harness, subject string, req any) (Resp, error) {
	return natsrpc.Call[Resp](ctx, h.client, subject, req)
}

func must[T any](t testing.TB) func(T, error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantKind(t testing.TB, err error, kind errs.Kind) {
	t.Helper()
	if !errs.Is(err, kind) {
		t.Fatalf("error = %v, want %s", err, kind)
	}
}

// register registers a runner as admin.
func (h *harness) register(t testing.TB, name, env string, labels ...string) runners.Registered {
	t.Helper()
	req := runners.RegisterRequest{Name: name, Environment: env, Labels: labels}
	return must[runners.Registered](t)(call[runners.Registered](as(admin), h, runners.SubjectRegister, req))
}

// beat sends a heartbeat for reg with secret over NATS.
func (h *harness) beat(ctx context.Context, id, secret string, hb runners.Heartbeat) (runners.HeartbeatResponse, error) {
	req := runners.HeartbeatRequest{Credentials: runners.Credentials{RunnerID: id, SecretSHA256: runners.SecretSHA256(secret)},
		UserAgent: "exekra-runner/test", Heartbeat: hb}
	return call[runners.HeartbeatResponse](ctx, h, runners.SubjectHeartbeat, req)
}

// get reads a runner as an operator.
func (h *harness) get(t testing.TB, id string) runners.Runner {
	t.Helper()
	return must[runners.Runner](t)(call[runners.Runner](as(operator), h, runners.SubjectGet, runners.GetRequest{ID: id}))
}

// outboxEvent is one row of runners.audit_outbox.
type outboxEvent struct {
	audit.Event
	Raw string
}

func (h *harness) events(t testing.TB) []outboxEvent {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), "SELECT payload::text FROM audit_outbox ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		ev := outboxEvent{Raw: raw}
		if err := json.Unmarshal([]byte(raw), &ev.Event); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// heartbeat is a typical heartbeat body.
func heartbeat() runners.Heartbeat {
	return runners.Heartbeat{Version: "0.1.0", Commit: "0123456789ab", OS: "linux/amd64", Hostname: "build-01",
		Metrics: runners.Metrics{CPUPercent: 12.5, MemoryPercent: 40, DiskFreeBytes: 50 << 30}, RunningJobIDs: []string{}}
}
