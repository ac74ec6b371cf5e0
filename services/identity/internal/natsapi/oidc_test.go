package natsapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/testkit/hydratest"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/oidclogin"
	"github.com/exekra/hub/services/identity/internal/postgres"
)

const oidcRedirect = "http://127.0.0.1:1/api/v1/auth/oidc/callback" // never visited: the test takes code and state

// oidcHub is the identity service with OpenID Connect sign-in against a real
// provider (Ory Hydra).
type oidcHub struct {
	*harness
	provider *hydratest.Provider
	client   hydratest.Client // the Hub's client at the provider
	other    hydratest.Client // another client of the same provider
	skew     atomic.Int64     // added to the sign-in's clock, in nanoseconds
	swap     atomic.Bool      // the token request authenticates as other (see swapClient)
}

func newOIDCHub(t *testing.T) *oidcHub {
	t.Helper()
	o := &oidcHub{harness: newHarness(t, fastParams), provider: hydratest.Start(t)}
	o.client, o.other = o.provider.NewClient(t, oidcRedirect), o.provider.NewClient(t, oidcRedirect)
	cfg := config.Default("").Identity.OIDC
	cfg.Name, cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = "Acme SSO", o.provider.Issuer, o.client.ID, o.client.Secret, oidcRedirect
	cfg.AdminValues, cfg.DevValues, cfg.OpValues = []string{"hub-admins"}, []string{"hub-devs"}, []string{"hub-ops"}
	l, err := oidclogin.New(oidclogin.Deps{Config: cfg, States: o.store, Users: o.service(t, fastParams), Log: o.deps.Log,
		Now:        func() time.Time { return time.Now().Add(time.Duration(o.skew.Load())) },
		HTTPClient: &http.Client{Transport: swapClient{o}, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go l.Run(ctx, time.Minute)
	natsrpctest.Serve(t, natstest.Connect(t, o.url), o.deps.Log, "exekra-identity-oidc", natsapi.OIDCEndpoints(l)...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := call[identity.OIDCBegin](anonymous(), o.harness, identity.SubjectOIDCBegin, identity.OIDCBeginRequest{})
		if err == nil {
			return o
		}
		if !errs.Is(err, errs.Unavailable) || time.Now().After(deadline) {
			t.Fatalf("begin: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// swapClient sends the Hub's token requests as the other client when
// o.swap is set, so the Hub is handed an ID token issued to another client.
type swapClient struct{ o *oidcHub }

func (s swapClient) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.o.swap.Load() && strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		r = r.Clone(r.Context())
		r.SetBasicAuth(url.QueryEscape(s.o.other.ID), url.QueryEscape(s.o.other.Secret))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// answer is the provider's redirect back: what the gateway hands identity.
type answer struct{ code, state string }

// authorize begins a sign-in as u and follows the provider's login and
// consent in a fresh browser; edit may change the authorization URL first.
func (o *oidcHub) authorize(t *testing.T, u hydratest.User, edit func(url.Values)) answer {
	t.Helper()
	begin := must[identity.OIDCBegin](t)(call[identity.OIDCBegin](anonymous(), o.harness, identity.SubjectOIDCBegin, identity.OIDCBeginRequest{}))
	auth, err := url.Parse(begin.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") != begin.State {
		t.Fatalf("the authorization URL lacks PKCE, nonce or state: %s", begin.AuthURL)
	}
	if edit != nil {
		edit(q)
		auth.RawQuery = q.Encode()
	}
	o.provider.SignInAs(u)
	code, state := hydratest.Authorize(t, hydratest.Browser(t), auth.String(), oidcRedirect)
	if code == "" || state != begin.State {
		t.Fatalf("the provider answered code %q state %q, want a code and %q", code, state, begin.State)
	}
	return answer{code, state}
}

func (o *oidcHub) complete(a answer, cookieState string) (identity.Session, error) {
	return call[identity.Session](anonymous(), o.harness, identity.SubjectOIDCComplete,
		identity.OIDCCompleteRequest{Code: a.code, State: a.state, CookieState: cookieState})
}

// wantRefused checks err's kind and message and that the refusal is the
// newest failed auth.login with reason.
func (o *oidcHub) wantRefused(t *testing.T, err error, kind errs.Kind, reason string) {
	t.Helper()
	wantKind(t, err, kind)
	if _, msg := errs.Public(err); !strings.Contains(msg, "Acme SSO") {
		t.Errorf("message %q does not name the provider", msg)
	}
	var last *outboxEvent
	for _, ev := range o.events(t) {
		if ev.Action == "auth.login" && ev.Outcome == audit.Failure {
			last = &ev
		}
	}
	if last == nil || last.Reason != reason || last.Details["source"] != identity.SourceOIDC {
		t.Fatalf("newest refused sign-in = %+v, want reason %s with source oidc", last, reason)
	}
	if strings.Contains(last.Raw, o.client.Secret) {
		t.Fatalf("the audit event holds the client secret: %s", last.Raw)
	}
}

func alice(groups ...string) hydratest.User {
	return hydratest.User{Subject: "alice-0001", Claims: map[string]any{
		"email": "Alice@Acme.test", "email_verified": true, "name": "Alice Liddell", "groups": groups}}
}

func TestOIDCSignIn(t *testing.T) {
	o := newOIDCHub(t)

	var aliceID string
	t.Run("a full round trip signs in with the role of the highest mapped group", func(t *testing.T) {
		a := o.authorize(t, alice("staff", "hub-ops", "hub-devs"), nil)
		sess := must[identity.Session](t)(o.complete(a, a.state))
		if sess.User.Role != identity.RoleDeveloper || sess.User.Source != identity.SourceOIDC ||
			!strings.EqualFold(sess.User.Email, "alice@acme.test") || sess.User.Name != "Alice Liddell" {
			t.Fatalf("signed in as %+v, want the DEVELOPER alice@acme.test from oidc", sess.User)
		}
		p := must[identity.Principal](t)(o.authenticate(sess.Token))
		if p.User.ID != sess.User.ID {
			t.Fatalf("the session's token authenticates %s, want %s", p.User.ID, sess.User.ID)
		}
		aliceID = sess.User.ID
	})

	t.Run("a changed group changes the role at the next sign-in", func(t *testing.T) {
		a := o.authorize(t, alice("hub-admins"), nil)
		sess := must[identity.Session](t)(o.complete(a, a.state))
		if sess.User.ID != aliceID || sess.User.Role != identity.RoleAdmin {
			t.Fatalf("signed in as %+v, want user %s now ADMIN", sess.User, aliceID)
		}
	})

	t.Run("a state that is not the browser's is refused", func(t *testing.T) {
		a := o.authorize(t, alice("hub-ops"), nil)
		_, err := o.complete(a, "another-browsers-state")
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonBadState)
	})

	t.Run("a replayed callback is refused", func(t *testing.T) {
		a := o.authorize(t, alice("hub-ops"), nil)
		must[identity.Session](t)(o.complete(a, a.state))
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonReplayedOrExpired)
	})

	t.Run("a state older than ten minutes is refused", func(t *testing.T) {
		a := o.authorize(t, alice("hub-ops"), nil)
		o.skew.Store(int64(oidclogin.StateLifetime + time.Minute))
		defer o.skew.Store(0)
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonReplayedOrExpired)
	})

	t.Run("a code the provider does not know is refused", func(t *testing.T) {
		a := o.authorize(t, alice("hub-ops"), nil)
		a.code = "not-a-code"
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonCodeExchangeFailed)
	})

	t.Run("an ID token issued to another client is refused", func(t *testing.T) {
		a := o.authorize(t, alice("hub-ops"), func(q url.Values) { q.Set("client_id", o.other.ID) })
		o.swap.Store(true)
		defer o.swap.Store(false)
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonIDTokenInvalid)
		last := o.events(t)
		if d, _ := last[len(last)-1].Details["detail"].(string); !strings.Contains(d, "audience") {
			t.Fatalf("the audit detail %q does not say the audience is wrong", d)
		}
	})

	t.Run("an ID token for another sign-in's nonce is refused", func(t *testing.T) {
		a := o.authorize(t, alice("hub-ops"), func(q url.Values) { q.Set("nonce", "someone-elses-nonce") })
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonNonceMismatch)
	})

	t.Run("an email the provider has not verified is refused", func(t *testing.T) {
		u := alice("hub-ops")
		u.Claims["email_verified"] = false
		a := o.authorize(t, u, nil)
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.Unauthenticated, oidclogin.ReasonEmailNotVerified)
	})

	t.Run("a user in no mapped group is refused when there is no default role", func(t *testing.T) {
		u := hydratest.User{Subject: "bob-0002", Claims: map[string]any{"email": "bob@acme.test", "email_verified": true, "groups": "visitors"}}
		a := o.authorize(t, u, nil)
		_, err := o.complete(a, a.state)
		o.wantRefused(t, err, errs.PermissionDenied, oidclogin.ReasonNoMappedRole)
	})
}

func TestOIDCLoginsAreSweptAfterTenMinutes(t *testing.T) {
	h := newHarness(t, fastParams)
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Microsecond)
	for i, age := range []time.Duration{time.Minute, oidclogin.StateLifetime + time.Second} {
		if err := h.store.SaveOIDCLogin(ctx, []byte{byte(i)}, postgres.OIDCLogin{Nonce: "n", Verifier: "v", CreatedAt: start.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	n := must[int64](t)(h.store.DeleteOIDCLoginsBefore(ctx, start.Add(-oidclogin.StateLifetime)))
	if n != 1 {
		t.Fatalf("swept %d sign-ins, want the one older than ten minutes", n)
	}
	if _, err := h.store.TakeOIDCLogin(ctx, []byte{0}); err != nil {
		t.Fatalf("the recent sign-in was swept too: %v", err)
	}
	_, err := h.store.TakeOIDCLogin(ctx, []byte{0})
	wantKind(t, err, errs.NotFound) // taken once
}

func TestOIDCProviderUnreachableAnswersUnavailable(t *testing.T) {
	h := newHarness(t, fastParams)
	cfg := config.Default("").Identity.OIDC
	cfg.Issuer, cfg.ClientID, cfg.RedirectURL = "http://127.0.0.1:1/", "hub", oidcRedirect
	l, err := oidclogin.New(oidclogin.Deps{Config: cfg, States: h.store, Users: h.service(t, fastParams), Log: h.deps.Log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx, time.Minute)
	natsrpctest.Serve(t, natstest.Connect(t, h.url), h.deps.Log, "exekra-identity-oidc", natsapi.OIDCEndpoints(l)...)
	_, err = call[identity.OIDCBegin](anonymous(), h, identity.SubjectOIDCBegin, identity.OIDCBeginRequest{})
	wantKind(t, err, errs.Unavailable)
	_, err = call[identity.Session](anonymous(), h, identity.SubjectOIDCComplete, identity.OIDCCompleteRequest{Code: "c", State: "s", CookieState: "s"})
	wantKind(t, err, errs.Unavailable)
}

func TestOIDCRoleMapping(t *testing.T) {
	c := config.OIDC{AdminValues: []string{"a"}, DevValues: []string{"d"}, OpValues: []string{"o"}}
	for _, tc := range []struct {
		values      []string
		defaultRole string
		want        string
	}{
		{[]string{"o", "d"}, "", identity.RoleDeveloper},
		{[]string{"x", "a", "o"}, "", identity.RoleAdmin},
		{[]string{"o"}, identity.RoleAdmin, identity.RoleOperator},
		{[]string{"x"}, identity.RoleOperator, identity.RoleOperator},
		{nil, "", ""},
	} {
		c.DefaultRole = tc.defaultRole
		if got := oidclogin.MapRole(c, tc.values); got != tc.want {
			t.Errorf("MapRole(%v, default %q) = %q, want %q", tc.values, tc.defaultRole, got, tc.want)
		}
	}
}
