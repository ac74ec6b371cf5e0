package natsapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/exekra/hub/services/licensing/internal/natsapi"
	"github.com/exekra/hub/services/licensing/internal/portal"
	"github.com/exekra/hub/services/licensing/internal/portalsim"
	"github.com/exekra/hub/services/licensing/internal/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
)

// start is the fake clock's first reading.
var start = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// fakeClock is a clock the test sets.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// harness is the licensing service on a fresh database and NATS server,
// with the portal simulator and a stand-in for the runners count.
type harness struct {
	t       *testing.T
	pool    *pgxpool.Pool
	svc     *license.Service
	clock   *fakeClock
	client  *natsrpc.Client
	nc      *nats.Conn
	sim     *portalsim.Sim
	vendor  ed25519.PrivateKey
	runners *runnersStub
	meter   *meterStub
}

// meterStub records what the service measures.
type meterStub struct {
	mu       sync.Mutex
	days     []int
	expiries []time.Time
}

func (m *meterStub) Expiry(expiresAt time.Time, days int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.days = append(m.days, days)
	m.expiries = append(m.expiries, expiresAt)
}

// last is the latest measurement; false when there was none.
func (m *meterStub) last() (int, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.days) == 0 {
		return 0, time.Time{}, false
	}
	return m.days[len(m.days)-1], m.expiries[len(m.expiries)-1], true
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t, "licensing")
	files, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, pool, "licensing", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	vendor, vendorPub, err := licfile.Keygen()
	if err != nil {
		t.Fatal(err)
	}
	nc := natstest.Conn(t)
	h := &harness{t: t, pool: pool, clock: &fakeClock{now: start}, nc: nc, client: natsrpc.NewClient(nc, nil),
		sim: portalsim.New(t, vendor), vendor: vendor, runners: &runnersStub{nc: nc}, meter: &meterStub{}}
	h.runners.set(t, 0, true)
	store := postgres.NewStore(pool, outbox.Writer{Service: "licensing"})
	h.svc = license.New(license.Config{Store: store, Portal: portal.New(2*time.Second, "1.2.3-test"),
		Runners: natsapi.Runners{NATS: h.client}, Clock: h.clock, Trusted: []ed25519.PublicKey{vendorPub},
		Version: "1.2.3-test", CountTimeout: time.Second, RetryEvery: time.Minute, Meter: h.meter})
	h.serve(natsapi.Endpoints(store, h.svc))
	return h
}

// serve runs the endpoints as a micro service until the test ends.
func (h *harness) serve(eps []natsrpc.Endpoint) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.DiscardHandler)
	go func() {
		done <- natsrpc.Serve(ctx, h.nc, log, nil, natsrpc.Service{Name: "exekra-licensing", Version: "0.0.1", Endpoints: eps})
	}()
	h.t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := natsrpc.Call[contract.SetupState](ctx, h.client, contract.SubjectSetupState, contract.SetupStateRequest{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("licensing endpoints did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runnersStub answers runners.SubjectCount, or nothing when unavailable.
type runnersStub struct {
	nc  *nats.Conn
	mu  sync.Mutex
	sub *nats.Subscription
	n   int
}

func (r *runnersStub) set(t *testing.T, n int, available bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n = n
	if available && r.sub == nil {
		sub, err := r.nc.Subscribe(runners.SubjectCount, func(m *nats.Msg) {
			r.mu.Lock()
			body, _ := json.Marshal(runners.Count{Runners: r.n})
			r.mu.Unlock()
			m.Respond(body)
		})
		if err != nil {
			t.Fatal(err)
		}
		r.sub = sub
	}
	if !available && r.sub != nil {
		r.sub.Unsubscribe()
		r.sub = nil
	}
	if err := r.nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Callers.
var (
	anonymous = caller.Actor{Type: "anonymous"}
	admin     = caller.Actor{Type: "user", ID: "u-admin", Role: "ADMIN", Email: "admin@acme.test"}
	operator  = caller.Actor{Type: "user", ID: "u-op", Role: "OPERATOR", Email: "op@acme.test"}
)

func call[Resp any](h *harness, as caller.Actor, subject string, req any) (Resp, error) {
	ctx := caller.With(context.Background(), caller.Info{RequestID: "req-" + h.t.Name(), Actor: as, SourceIP: "192.0.2.7"})
	return natsrpc.Call[Resp](ctx, h.client, subject, req)
}

func (h *harness) activate(as caller.Actor, text string) (contract.Status, error) {
	return call[contract.Status](h, as, contract.SubjectActivate, contract.ActivateRequest{License: text})
}

func (h *harness) status() (contract.Status, error) {
	return call[contract.Status](h, admin, contract.SubjectStatus, contract.StatusRequest{})
}

// issue signs an online license valid from an hour ago for a year (30 days
// between validations, 7 days of grace, 5 runners), changed by edit.
func (h *harness) issue(edit func(*licfile.Document)) string {
	h.t.Helper()
	now := h.clock.Now()
	doc := licfile.Document{LicenseID: "L-" + now.Format("150405.000000"), Licensee: "Acme Corp", AdminEmail: "Admin@Acme.test",
		MaxRunners: 5, IssuedAt: now.Add(-time.Hour), NotBefore: now.Add(-time.Hour), ExpiresAt: now.Add(365 * day),
		Validation: licfile.Validation{Mode: licfile.ModeOnline, IntervalHours: 30 * 24, GraceDays: 7}, PortalURL: h.sim.URL()}
	if edit != nil {
		edit(&doc)
	}
	text, err := licfile.Issue(h.vendor, doc)
	if err != nil {
		h.t.Fatal(err)
	}
	return text
}

func (h *harness) mustActivate(as caller.Actor, text string) contract.Status {
	h.t.Helper()
	st, err := h.activate(as, text)
	if err != nil {
		h.t.Fatalf("activate: %v", err)
	}
	return st
}

func (h *harness) tick() {
	h.t.Helper()
	if err := h.svc.Tick(context.Background()); err != nil {
		h.t.Fatalf("tick: %v", err)
	}
}

// events returns the outbox's events of action, oldest first.
func (h *harness) events(action string) []audit.Event {
	h.t.Helper()
	rows, err := h.pool.Query(context.Background(), "SELECT payload FROM audit_outbox WHERE payload->>'action' = $1 ORDER BY seq", action)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var ev audit.Event
		if err := rows.Scan(&ev); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// outboxText is every outbox payload, for checks that nothing secret leaked.
func (h *harness) outboxText() string {
	h.t.Helper()
	var s string
	if err := h.pool.QueryRow(context.Background(), "SELECT coalesce(string_agg(payload::text, E'\\n'), '') FROM audit_outbox").Scan(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func contains(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
