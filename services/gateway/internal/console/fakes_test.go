package console_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Test doubles of identity, licensing and audit: canned answers on their real
// NATS subjects, so the console is tested through the gateway's own engine.

const (
	password   = "correct horse battery"
	adminToken = "exk_st_admin"
	devToken   = "exk_st_dev"
	goodLic    = "GOOD LICENSE"
	goodRcpt   = "GOOD RECEIPT"
)

var (
	adminUser = identity.User{ID: "u-admin", Email: "admin@example.com", Name: "Ada Admin", Role: identity.RoleAdmin, CreatedAt: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}
	devUser   = identity.User{ID: "u-dev", Email: "dev@example.com", Name: "Dev Eloper", Role: identity.RoleDeveloper, CreatedAt: time.Date(2026, 1, 3, 3, 4, 0, 0, time.UTC)}
)

type fakeHub struct {
	mu           sync.Mutex
	licensed     bool
	bootstrapped bool
	users        []identity.User
	tokens       map[string]string // session token -> user id
	logouts      []string
	lastQuery    audit.QueryRequest
	lastStatusBy caller.Actor
	runners      fakeRunners
	jobs         fakeJobs
	schedules    fakeSchedules
	assets       fakeAssets
	apiTokens    []identity.APIToken
}

func newFakeHub() *fakeHub {
	return &fakeHub{licensed: true, bootstrapped: true, users: []identity.User{adminUser, devUser},
		tokens: map[string]string{adminToken: adminUser.ID, devToken: devUser.ID}, runners: newFakeRunners(), jobs: newFakeJobs(), schedules: newFakeSchedules(),
		assets: newFakeAssets()}
}

// serve answers the subjects on nc until the test ends. It speaks natsrpc's
// wire format (JSON body, or the micro service-error headers) on plain
// subscriptions, one request at a time, and is live once Flush returns.
func (f *fakeHub) serve(t *testing.T, nc *nats.Conn) {
	t.Helper()
	for _, ep := range f.endpoints() {
		sub, err := nc.Subscribe(ep.Subject, func(m *nats.Msg) { reply(m, ep) })
		if err != nil {
			t.Fatalf("fake %s: %v", ep.Subject, err)
		}
		t.Cleanup(func() { sub.Unsubscribe() })
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("fake services: %v", err)
	}
}

func reply(m *nats.Msg, ep natsrpc.Endpoint) {
	actor, _ := caller.ParseActor(m.Header.Get(natsrpc.HeaderActor))
	ctx := caller.With(context.Background(), caller.Info{Actor: actor, RequestID: m.Header.Get(natsrpc.HeaderRequestID)})
	out := nats.NewMsg(m.Reply)
	resp, err := ep.Handle(ctx, m.Data)
	if err != nil {
		kind, msg := errs.Public(err)
		out.Header.Set(micro.ErrorCodeHeader, string(kind))
		out.Header.Set(micro.ErrorHeader, msg)
		if d := errs.RetryAfter(err); d > 0 {
			out.Header.Set(natsrpc.HeaderRetryAfter, strconv.FormatInt(d.Milliseconds(), 10))
		}
	} else {
		out.Data, _ = json.Marshal(resp)
	}
	m.RespondMsg(out)
}

func (f *fakeHub) endpoints() []natsrpc.Endpoint {
	return slices.Concat(f.identityEndpoints(), f.licensingEndpoints(), f.auditEndpoints(), f.runnersEndpoints(), f.jobsEndpoints(), f.schedulesEndpoints(),
		f.assetsEndpoints(), f.tokensEndpoints())
}

func (f *fakeHub) find(id string) int {
	return slices.IndexFunc(f.users, func(u identity.User) bool { return u.ID == id })
}

func (f *fakeHub) admins() int {
	n := 0
	for _, u := range f.users {
		if u.Role == identity.RoleAdmin && !u.Disabled {
			n++
		}
	}
	return n
}

func (f *fakeHub) identityEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(identity.SubjectSetupState, func(_ context.Context, _ identity.SetupStateRequest) (identity.SetupState, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return identity.SetupState{Bootstrapped: f.bootstrapped}, nil
		}),
		natsrpc.Handle(identity.SubjectAuthenticate, func(_ context.Context, r identity.AuthenticateRequest) (identity.Principal, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if i := f.find(f.tokens[r.Token]); i >= 0 {
				return identity.Principal{User: f.users[i], SessionID: "s-" + r.Token, ExpiresAt: time.Now().Add(time.Hour)}, nil
			}
			return identity.Principal{}, errs.E(errs.Unauthenticated, "the session is invalid or has ended")
		}),
		natsrpc.Handle(identity.SubjectLogin, f.login),
		natsrpc.Handle(identity.SubjectLogout, func(_ context.Context, r identity.LogoutRequest) (identity.LogoutResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.logouts = append(f.logouts, r.Token)
			delete(f.tokens, r.Token)
			return identity.LogoutResponse{}, nil
		}),
		natsrpc.Handle(identity.SubjectBootstrap, f.bootstrap),
		natsrpc.Handle(identity.SubjectUsersList, func(_ context.Context, r identity.ListUsersRequest) (identity.ListUsersResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return identity.ListUsersResponse{Items: slices.Clone(f.users)}, nil
		}),
		natsrpc.Handle(identity.SubjectUsersGet, func(_ context.Context, r identity.GetUserRequest) (identity.User, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if i := f.find(r.ID); i >= 0 {
				return f.users[i], nil
			}
			return identity.User{}, errs.E(errs.NotFound, "no such user")
		}),
		natsrpc.Handle(identity.SubjectUsersCreate, f.createUser),
		natsrpc.Handle(identity.SubjectUsersUpdate, f.updateUser),
		natsrpc.Handle(identity.SubjectUsersDelete, f.deleteUser),
	}
}

func (f *fakeHub) login(_ context.Context, r identity.LoginRequest) (identity.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Email == "rate@example.com" {
		return identity.Session{}, errs.Throttled("too many sign-in attempts; retry in 30 seconds", 30*time.Second)
	}
	i := slices.IndexFunc(f.users, func(u identity.User) bool { return strings.EqualFold(u.Email, r.Email) })
	if i < 0 || r.Password != password || f.users[i].Disabled {
		return identity.Session{}, errs.E(errs.InvalidCredentials, "wrong email or password")
	}
	tok := "exk_st_" + f.users[i].ID
	f.tokens[tok] = f.users[i].ID
	return identity.Session{Token: tok, ExpiresAt: time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC), User: f.users[i]}, nil
}

func (f *fakeHub) bootstrap(_ context.Context, r identity.BootstrapRequest) (identity.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.bootstrapped:
		return identity.User{}, errs.E(errs.AlreadyBootstrap, "the first administrator exists")
	case !strings.EqualFold(r.Email, adminUser.Email):
		return identity.User{}, errs.E(errs.EmailMismatch, "the email must be the license's admin email")
	}
	f.bootstrapped = true
	return adminUser, nil
}

func (f *fakeHub) createUser(_ context.Context, r identity.CreateUserRequest) (identity.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.ContainsFunc(f.users, func(u identity.User) bool { return strings.EqualFold(u.Email, r.Email) }) {
		return identity.User{}, errs.E(errs.Conflict, "a user with this email exists")
	}
	u := identity.User{ID: "u-" + strconv.Itoa(len(f.users)+1), Email: r.Email, Name: r.Name, Role: r.Role, Source: identity.SourceLocal, CreatedAt: time.Now()}
	if r.ServiceAccount {
		u.Source = identity.SourceService
	}
	if u.Role == "" {
		u.Role = identity.RoleOperator
	}
	f.users = append(f.users, u)
	return u, nil
}

func (f *fakeHub) updateUser(_ context.Context, r identity.UpdateUserRequest) (identity.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(r.ID)
	if i < 0 {
		return identity.User{}, errs.E(errs.NotFound, "no such user")
	}
	u := &f.users[i]
	demoted := (r.Role != nil && *r.Role != identity.RoleAdmin) || (r.Disabled != nil && *r.Disabled)
	if u.Role == identity.RoleAdmin && demoted && f.admins() == 1 {
		return identity.User{}, errs.E(errs.LastAdmin, "the last active administrator cannot be demoted or disabled")
	}
	if r.Role != nil {
		u.Role = *r.Role
	}
	if r.Disabled != nil {
		u.Disabled = *r.Disabled
	}
	return *u, nil
}

func (f *fakeHub) deleteUser(_ context.Context, r identity.DeleteUserRequest) (identity.DeleteUserResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(r.ID)
	if i < 0 {
		return identity.DeleteUserResponse{}, errs.E(errs.NotFound, "no such user")
	}
	if f.users[i].Role == identity.RoleAdmin && f.admins() == 1 {
		return identity.DeleteUserResponse{}, errs.E(errs.LastAdmin, "the last active administrator cannot be deleted")
	}
	f.users = slices.Delete(f.users, i, i+1)
	return identity.DeleteUserResponse{}, nil
}

// with runs fn under the fake's lock, for a test to arrange or read its state.
func (f *fakeHub) with(fn func(f *fakeHub)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
