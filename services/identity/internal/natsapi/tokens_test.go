package natsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/identity/internal/user"
)

// createToken makes a token as ctx.
func (h *harness) createToken(ctx context.Context, req identity.CreateTokenRequest) (identity.CreatedToken, error) {
	return call[identity.CreatedToken](ctx, h, identity.SubjectTokensCreate, req)
}

// withToken is u acting through the gateway with the API token id.
func withToken(u identity.User, tokenID string) context.Context {
	return as(caller.Actor{Type: "user", ID: u.ID, Role: u.Role, Email: u.Email, TokenID: tokenID})
}

func TestAPITokens(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	dev := h.createUser(t, admin, "dev@example.test", identity.RoleDeveloper)
	in := func(d time.Duration) time.Time { return h.clock.Now().Add(d) }
	req := identity.CreateTokenRequest{Name: "CI", Scopes: []string{identity.ScopeRead, identity.ScopePublish}, ExpiresAt: in(30 * 24 * time.Hour)}

	created := must[identity.CreatedToken](t)(h.createToken(actorOf(dev), req))
	t.Run("a person's token is exk_pat_ and shown once; only its hash is kept", func(t *testing.T) {
		if !strings.HasPrefix(created.Token, identity.TokenPrefixPersonal) || len(created.Token) != len(identity.TokenPrefixPersonal)+43 {
			t.Fatalf("token = %q", created.Token)
		}
		if created.Info.UserID != dev.ID || created.Info.Prefix != created.Token[:12] || len(created.Info.Scopes) != 2 {
			t.Fatalf("info = %+v", created.Info)
		}
		var stored []byte
		if err := h.pool.QueryRow(t.Context(), "SELECT token_hash FROM api_tokens WHERE id = $1", created.Info.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 32 || strings.Contains(string(stored), created.Token) {
			t.Fatalf("stored %d bytes", len(stored))
		}
	})
	t.Run("it authenticates as its owner with its scopes and expiry", func(t *testing.T) {
		p := must[identity.Principal](t)(h.authenticate(created.Token))
		if p.User.ID != dev.ID || p.User.Role != identity.RoleDeveloper || p.TokenID != created.Info.ID || p.SessionID != "" ||
			strings.Join(p.Scopes, ",") != "read,publish" || !p.ExpiresAt.Equal(created.Info.ExpiresAt) {
			t.Fatalf("principal = %+v", p)
		}
		list := must[identity.ListTokensResponse](t)(call[identity.ListTokensResponse](actorOf(dev), h, identity.SubjectTokensList, identity.ListTokensRequest{}))
		if len(list.Items) != 1 || list.Items[0].LastUsedAt == nil || list.Items[0].LastUsedIP != sourceIP {
			t.Fatalf("list = %+v", list.Items)
		}
	})
	t.Run("the audit event names the token, never its secret", func(t *testing.T) {
		var found bool
		for _, ev := range h.events(t) {
			if strings.Contains(ev.Raw, created.Token) || strings.Contains(ev.Raw, created.Token[12:]) {
				t.Fatalf("event holds the token: %s", ev.Raw)
			}
			found = found || (ev.Action == "token.create" && ev.Target.ID == created.Info.ID && ev.Actor.ID == dev.ID)
		}
		if !found {
			t.Fatal("no token.create event")
		}
	})
	t.Run("bad requests are invalid_argument with a clear message", func(t *testing.T) {
		for name, bad := range map[string]identity.CreateTokenRequest{
			"no name":          {Scopes: req.Scopes, ExpiresAt: req.ExpiresAt},
			"long name":        {Name: strings.Repeat("n", 101), Scopes: req.Scopes, ExpiresAt: req.ExpiresAt},
			"no scopes":        {Name: "x", ExpiresAt: req.ExpiresAt},
			"unknown scope":    {Name: "x", Scopes: []string{"write"}, ExpiresAt: req.ExpiresAt},
			"no expiry":        {Name: "x", Scopes: req.Scopes},
			"expiry in past":   {Name: "x", Scopes: req.Scopes, ExpiresAt: in(-time.Second)},
			"beyond max bound": {Name: "x", Scopes: req.Scopes, ExpiresAt: in(tokenMaxLifetime + time.Second)},
		} {
			_, err := h.createToken(actorOf(dev), bad)
			if !errs.Is(err, errs.InvalidArgument) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("a token cannot create a token", func(t *testing.T) {
		_, err := h.createToken(withToken(dev, created.Info.ID), req)
		wantKind(t, err, errs.PermissionDenied)
	})
	t.Run("nobody makes a token for another person, not even an ADMIN", func(t *testing.T) {
		r := req
		r.UserID = dev.ID
		_, err := h.createToken(actorOf(admin), r)
		wantKind(t, err, errs.PermissionDenied)
	})
	t.Run("other users' tokens: not listed, not revocable (404) without ADMIN", func(t *testing.T) {
		op := h.createUser(t, admin, "op@example.test", identity.RoleOperator)
		_, err := call[identity.ListTokensResponse](actorOf(op), h, identity.SubjectTokensList, identity.ListTokensRequest{All: true})
		wantKind(t, err, errs.PermissionDenied)
		_, err = call[identity.APIToken](actorOf(op), h, identity.SubjectTokensRevoke, identity.RevokeTokenRequest{ID: created.Info.ID})
		wantKind(t, err, errs.NotFound)
		all := must[identity.ListTokensResponse](t)(call[identity.ListTokensResponse](actorOf(admin), h, identity.SubjectTokensList, identity.ListTokensRequest{All: true}))
		if len(all.Items) != 1 || all.Items[0].UserEmail != dev.Email {
			t.Fatalf("all = %+v", all.Items)
		}
	})
	t.Run("a role change narrows the token to the new role", func(t *testing.T) {
		role := identity.RoleOperator
		must[identity.User](t)(call[identity.User](actorOf(admin), h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: dev.ID, Role: &role}))
		p := must[identity.Principal](t)(h.authenticate(created.Token))
		if p.User.Role != identity.RoleOperator {
			t.Fatalf("role = %s", p.User.Role)
		}
	})
	t.Run("a disabled owner's token is refused", func(t *testing.T) {
		yes, no := true, false
		must[identity.User](t)(call[identity.User](actorOf(admin), h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: dev.ID, Disabled: &yes}))
		_, err := h.authenticate(created.Token)
		wantKind(t, err, errs.Unauthenticated)
		must[identity.User](t)(call[identity.User](actorOf(admin), h, identity.SubjectUsersUpdate, identity.UpdateUserRequest{ID: dev.ID, Disabled: &no}))
		must[identity.Principal](t)(h.authenticate(created.Token))
	})
	t.Run("revoking announces the owner's change, is final and refuses the token", func(t *testing.T) {
		sub, err := natstest.Connect(t, h.url).SubscribeSync(identity.SubjectSessionsChanged)
		if err != nil {
			t.Fatal(err)
		}
		revoked := must[identity.APIToken](t)(call[identity.APIToken](actorOf(dev), h, identity.SubjectTokensRevoke, identity.RevokeTokenRequest{ID: created.Info.ID}))
		if revoked.RevokedAt == nil {
			t.Fatal("not revoked")
		}
		msg, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var ev identity.SessionsChanged
		if json.Unmarshal(msg.Data, &ev); ev.UserID != dev.ID {
			t.Fatalf("announced %+v", ev)
		}
		_, err = h.authenticate(created.Token)
		wantKind(t, err, errs.Unauthenticated)
		h.clock.Advance(time.Minute)
		again := must[identity.APIToken](t)(call[identity.APIToken](actorOf(admin), h, identity.SubjectTokensRevoke, identity.RevokeTokenRequest{ID: created.Info.ID}))
		if !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Fatalf("revoked_at moved: %s, %s", again.RevokedAt, revoked.RevokedAt)
		}
	})
	t.Run("an expired token is refused", func(t *testing.T) {
		short := must[identity.CreatedToken](t)(h.createToken(actorOf(dev), identity.CreateTokenRequest{Name: "short", Scopes: []string{identity.ScopeRead}, ExpiresAt: in(time.Hour)}))
		must[identity.Principal](t)(h.authenticate(short.Token))
		h.clock.Advance(time.Hour)
		_, err := h.authenticate(short.Token)
		wantKind(t, err, errs.Unauthenticated)
		if h.tokenAuths["expired"] != 1 || h.tokenAuths["revoked"] != 1 {
			t.Fatalf("outcomes = %v", h.tokenAuths)
		}
	})
	t.Run("an address presenting unknown tokens is throttled; a valid token is not", func(t *testing.T) {
		fresh := must[identity.CreatedToken](t)(h.createToken(actorOf(dev), identity.CreateTokenRequest{Name: "fresh", Scopes: []string{identity.ScopeRead}, ExpiresAt: in(time.Hour)}))
		var last error
		for i := range user.AddressBurst + 1 {
			_, last = h.authenticate(fmt.Sprintf("%sguess%038d", identity.TokenPrefixPersonal, i))
		}
		wantKind(t, last, errs.RateLimited)
		if errs.RetryAfter(last) <= 0 || h.tokenAuths["throttled"] != 1 {
			t.Fatalf("throttled: %v, retry after %v, outcomes %v", last, errs.RetryAfter(last), h.tokenAuths)
		}
		must[identity.Principal](t)(h.authenticate(fresh.Token))
	})
}

func TestServiceAccounts(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	dev := h.createUser(t, admin, "dev@example.test", identity.RoleDeveloper)
	sa := identity.CreateUserRequest{Email: "ci@example.test", Name: "CI", Role: identity.RoleDeveloper, ServiceAccount: true}
	t.Run("only an ADMIN creates one", func(t *testing.T) {
		_, err := call[identity.User](actorOf(dev), h, identity.SubjectUsersCreate, sa)
		wantKind(t, err, errs.PermissionDenied)
	})
	svc := must[identity.User](t)(call[identity.User](actorOf(admin), h, identity.SubjectUsersCreate, sa))
	t.Run("it has source service and cannot sign in", func(t *testing.T) {
		if svc.Source != identity.SourceService {
			t.Fatalf("source = %q", svc.Source)
		}
		_, err := call[identity.Session](anonymous(), h, identity.SubjectLogin, identity.LoginRequest{Email: sa.Email, Password: ""})
		wantKind(t, err, errs.InvalidCredentials)
		_, err = call[identity.Session](anonymous(), h, identity.SubjectLogin, identity.LoginRequest{Email: sa.Email, Password: password})
		wantKind(t, err, errs.InvalidCredentials)
	})
	req := identity.CreateTokenRequest{Name: "pipeline", Scopes: []string{identity.ScopePublish}, ExpiresAt: h.clock.Now().Add(time.Hour), UserID: svc.ID}
	t.Run("an ADMIN makes it an exk_sat_ token; nobody else does", func(t *testing.T) {
		_, err := h.createToken(actorOf(dev), req)
		wantKind(t, err, errs.PermissionDenied)
		tok := must[identity.CreatedToken](t)(h.createToken(actorOf(admin), req))
		if !strings.HasPrefix(tok.Token, identity.TokenPrefixService) || tok.Info.UserID != svc.ID {
			t.Fatalf("token = %q, %+v", tok.Token, tok.Info)
		}
		p := must[identity.Principal](t)(h.authenticate(tok.Token))
		if p.User.ID != svc.ID || p.User.Role != identity.RoleDeveloper {
			t.Fatalf("principal = %+v", p)
		}
		must[identity.DeleteUserResponse](t)(call[identity.DeleteUserResponse](actorOf(admin), h, identity.SubjectUsersDelete, identity.DeleteUserRequest{ID: svc.ID}))
		_, err = h.authenticate(tok.Token)
		wantKind(t, err, errs.Unauthenticated)
	})
}
