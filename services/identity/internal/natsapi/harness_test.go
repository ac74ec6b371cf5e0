package natsapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/postgres"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Test data.
const (
	adminEmail = "Ada@Example.test"
	password   = "correct horse battery staple"
	sourceIP   = "198.51.100.7"
)

// fastParams keep most tests quick; tests about cost use user.DefaultParams.
var fastParams = user.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

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

// harness is the identity service on real PostgreSQL, Redis and NATS, with
// a licensing stand-in answering licensing.SubjectAdminEmail.
type harness struct {
	pool   *pgxpool.Pool
	store  *postgres.Store
	deps   user.Deps
	client *natsrpc.Client
	clock  *clock
	url    string // the NATS server's

	mu           sync.Mutex
	licenseEmail string         // "" means no active license
	tokenAuths   map[string]int // API token authentications by outcome
}

func newHarness(t testing.TB, params user.Params) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{pool: pgtest.Pool(t, "identity"), clock: &clock{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}}
	files, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, h.pool, "identity", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	url := natstest.URL(t)
	h.client = natsrpc.NewClient(natstest.Connect(t, url), nil)
	h.store = postgres.NewStore(h.pool, outbox.Writer{Service: "identity"})
	h.deps = user.Deps{Store: h.store, License: natsapi.License{Client: h.client}, Limiter: tokenbucket.New(redistest.Client(t)),
		Hasher: user.NewHasher(params, 0), Log: slog.New(slog.NewTextHandler(t.Output(), nil)), Now: h.clock.Now}
	h.url = url
	h.deps.Sessions = natsapi.Announcer{NC: natstest.Connect(t, url), Log: h.deps.Log}
	svc := h.service(t, params)
	natsrpctest.Serve(t, natstest.Connect(t, url), h.deps.Log, "exekra-licensing", natsrpc.Handle(licensing.SubjectAdminEmail, h.adminEmail))
	natsrpctest.Serve(t, natstest.Connect(t, url), h.deps.Log, "exekra-identity", natsapi.Endpoints(svc, h.apiTokens(t))...)
	return h
}

// service builds a service on the harness's store with its own hasher.
func (h *harness) service(t testing.TB, params user.Params) *user.Service {
	t.Helper()
	d := h.deps
	d.Hasher = user.NewHasher(params, 0)
	svc, err := user.NewService(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// adminEmail is the licensing stand-in.
func (h *harness) adminEmail(context.Context, licensing.AdminEmailRequest) (licensing.AdminEmail, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.licenseEmail == "" {
		return licensing.AdminEmail{}, errs.E(errs.LicenseRequired, "activate a license first")
	}
	return licensing.AdminEmail{Email: h.licenseEmail}, nil
}

func (h *harness) license(email string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.licenseEmail = email
}

// as is a context acting as actor from the test source address.
func as(actor caller.Actor) context.Context {
	return caller.With(context.Background(), caller.Info{RequestID: "req-test", Actor: actor, SourceIP: sourceIP})
}

// anonymous is a context with no signed-in actor.
func anonymous() context.Context { return as(caller.Actor{Type: "anonymous"}) }

// actorOf is u acting through the gateway.
func actorOf(u identity.User) context.Context {
	return as(caller.Actor{Type: "user", ID: u.ID, Role: u.Role, Email: u.Email})
}

func call[Resp any](ctx context.Context, h *harness, subject string, req any) (Resp, error) {
	return natsrpc.Call[Resp](ctx, h.client, subject, req)
}

// must fails t on err.
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

// wantKind fails t unless err carries kind.
func wantKind(t testing.TB, err error, kind errs.Kind) {
	t.Helper()
	if !errs.Is(err, kind) {
		t.Fatalf("error = %v, want %s", err, kind)
	}
}

// bootstrap licenses the Hub and creates its first ADMIN.
func (h *harness) bootstrap(t testing.TB) identity.User {
	t.Helper()
	h.license(adminEmail)
	req := identity.BootstrapRequest{Email: adminEmail, Password: password, Name: "Ada"}
	return must[identity.User](t)(call[identity.User](anonymous(), h, identity.SubjectBootstrap, req))
}

// createUser creates a user as admin.
func (h *harness) createUser(t testing.TB, admin identity.User, email, role string) identity.User {
	t.Helper()
	req := identity.CreateUserRequest{Email: email, Password: password, Name: "User " + email, Role: role}
	return must[identity.User](t)(call[identity.User](actorOf(admin), h, identity.SubjectUsersCreate, req))
}

// login signs in with the test password.
func (h *harness) login(t testing.TB, email string) identity.Session {
	t.Helper()
	req := identity.LoginRequest{Email: email, Password: password}
	return must[identity.Session](t)(call[identity.Session](anonymous(), h, identity.SubjectLogin, req))
}

// authenticate resolves token.
func (h *harness) authenticate(token string) (identity.Principal, error) {
	return call[identity.Principal](anonymous(), h, identity.SubjectAuthenticate, identity.AuthenticateRequest{Token: token})
}

// outboxEvent is one row of identity.audit_outbox.
type outboxEvent struct {
	audit.Event
	Raw string
}

// events returns the audit outbox in order.
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
