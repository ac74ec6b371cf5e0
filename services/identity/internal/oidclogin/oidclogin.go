// Package oidclogin signs users in through an OpenID Connect provider (Entra
// ID, Okta, Keycloak, ADFS...): the authorization code flow with PKCE, a
// single-use state kept in PostgreSQL, and a nonce bound into the ID token.
// The client secret never leaves the identity service.
package oidclogin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/exekra/hub/libs/config"
	contract "github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/identity/internal/postgres"
	"github.com/exekra/hub/services/identity/internal/user"
	"golang.org/x/oauth2"
)

// StateLifetime is how long a sign-in may stay at the provider.
const StateLifetime = 10 * time.Minute

// Reasons of refused OpenID Connect sign-ins in the audit log.
const (
	ReasonBadState           = "bad_state"
	ReasonReplayedOrExpired  = "replayed_or_expired_state"
	ReasonCodeExchangeFailed = "code_exchange_failed"
	ReasonIDTokenInvalid     = "id_token_invalid"
	ReasonNonceMismatch      = "nonce_mismatch"
	ReasonEmailNotVerified   = "email_not_verified"
	ReasonNoMappedRole       = "no_mapped_role"
)

// States keeps the sign-ins under way.
type States interface {
	SaveOIDCLogin(ctx context.Context, stateHash []byte, l postgres.OIDCLogin) error
	TakeOIDCLogin(ctx context.Context, stateHash []byte) (postgres.OIDCLogin, error)
	DeleteOIDCLoginsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Users signs in the users the provider vouched for and records refusals.
type Users interface {
	SignInExternal(ctx context.Context, ext user.External) (user.Issued, error)
	RecordExternalFailure(ctx context.Context, ext user.External, reason, detail string, err error) error
}

// Deps are what a Login is built from.
type Deps struct {
	Config config.OIDC
	CAFile string // resolved against the install dir; "" trusts the system's CAs
	States States
	Users  Users
	Log    *slog.Logger
	Now    func() time.Time // time.Now unless a test controls the clock
	// HTTPClient talks to the provider; nil builds one trusting CAFile.
	HTTPClient *http.Client
}

// Login is OpenID Connect sign-in against one provider.
type Login struct {
	Deps
	client *http.Client

	mu       sync.RWMutex
	oauth    *oauth2.Config        // nil until the provider was discovered
	verifier *oidc.IDTokenVerifier // likewise
}

// New checks the settings and prepares sign-in; Run discovers the provider.
func New(d Deps) (*Login, error) {
	c := d.Config
	switch {
	case c.Issuer == "":
		return nil, errors.New("identity.oidc.issuer is empty")
	case c.ClientID == "" || c.RedirectURL == "":
		return nil, errors.New("identity.oidc.client_id and identity.oidc.redirect_url are required with identity.oidc.issuer")
	case c.DefaultRole != "" && contract.RoleRank(c.DefaultRole) == 0:
		return nil, fmt.Errorf("identity.oidc.default_role %q is not ADMIN, DEVELOPER or OPERATOR", c.DefaultRole)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Config.RolesClaim == "" {
		d.Config.RolesClaim = "groups"
	}
	client := d.HTTPClient
	if client == nil {
		var err error
		if client, err = httpClient(d.CAFile); err != nil {
			return nil, err
		}
	}
	return &Login{Deps: d, client: client}, nil
}

// httpClient trusts caFile's certificates, or the system's when it is "".
func httpClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("identity.oidc.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("identity.oidc.ca_file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}, nil
}

// Run discovers the provider, retrying until it answers (sign-ins are
// unavailable meanwhile), then sweeps expired states every interval until
// ctx ends.
func (l *Login) Run(ctx context.Context, sweepEvery time.Duration) {
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		err := l.discover(ctx)
		if err == nil {
			break
		}
		l.Log.WarnContext(ctx, "OpenID Connect provider not reachable; retrying", "issuer", l.Config.Issuer, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	l.Log.InfoContext(ctx, "OpenID Connect sign-in ready", "issuer", l.Config.Issuer)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := l.States.DeleteOIDCLoginsBefore(ctx, l.Now().Add(-StateLifetime)); err != nil {
				l.Log.WarnContext(ctx, "sweep OpenID Connect sign-ins", "err", err)
			} else if n > 0 {
				l.Log.InfoContext(ctx, "swept expired OpenID Connect sign-ins", "count", n)
			}
		}
	}
}

// discover reads the issuer's /.well-known/openid-configuration.
func (l *Login) discover(ctx context.Context) error {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, l.client), l.Config.Issuer)
	if err != nil {
		return fmt.Errorf("discover %s: %w", l.Config.Issuer, err)
	}
	oc := &oauth2.Config{ClientID: l.Config.ClientID, ClientSecret: l.Config.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: l.Config.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID}, l.Config.Scopes...)}
	v := p.Verifier(&oidc.Config{ClientID: l.Config.ClientID, Now: l.Now})
	l.mu.Lock()
	l.oauth, l.verifier = oc, v
	l.mu.Unlock()
	return nil
}

// ready returns the discovered provider, or unavailable.
func (l *Login) ready() (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.oauth == nil {
		return nil, nil, errs.E(errs.Unavailable, "sign-in with "+l.Config.Name+" is not available yet: the provider has not answered; try again shortly")
	}
	return l.oauth, l.verifier, nil
}

// Begin starts a sign-in: where to send the browser, and the state the
// gateway also keeps in a cookie.
func (l *Login) Begin(ctx context.Context) (contract.OIDCBegin, error) {
	oc, _, err := l.ready()
	if err != nil {
		return contract.OIDCBegin{}, err
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	rec := postgres.OIDCLogin{Nonce: nonce, Verifier: verifier, CreatedAt: l.Now().UTC().Truncate(time.Microsecond)}
	if err := l.States.SaveOIDCLogin(ctx, hash(state), rec); err != nil {
		return contract.OIDCBegin{}, err
	}
	url := oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return contract.OIDCBegin{AuthURL: url, State: state}, nil
}

// Complete ends a sign-in with the provider's answer and starts a session.
func (l *Login) Complete(ctx context.Context, req contract.OIDCCompleteRequest) (user.Issued, error) {
	oc, verifier, err := l.ready()
	if err != nil {
		return user.Issued{}, err
	}
	ext := user.External{Source: user.SourceOIDC, Provider: l.Config.Name}
	if req.State == "" || req.Code == "" || req.State != req.CookieState {
		return user.Issued{}, l.refuse(ctx, ext, ReasonBadState, "this browser did not start this sign-in")
	}
	rec, err := l.States.TakeOIDCLogin(ctx, hash(req.State))
	if errs.Is(err, errs.NotFound) || err == nil && l.Now().Sub(rec.CreatedAt) > StateLifetime {
		return user.Issued{}, l.refuse(ctx, ext, ReasonReplayedOrExpired, "the sign-in was already used or took too long; start again")
	}
	if err != nil {
		return user.Issued{}, err
	}
	hc := context.WithValue(ctx, oauth2.HTTPClient, l.client)
	tok, err := oc.Exchange(hc, req.Code, oauth2.VerifierOption(rec.Verifier))
	if err != nil {
		return user.Issued{}, l.refuseDetail(ctx, ext, ReasonCodeExchangeFailed, "the provider did not accept the sign-in code", exchangeDetail(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return user.Issued{}, l.refuseDetail(ctx, ext, ReasonIDTokenInvalid, "the provider sent no ID token", "no id_token in the token response")
	}
	idt, err := verifier.Verify(oidc.ClientContext(ctx, l.client), raw)
	if err != nil {
		return user.Issued{}, l.refuseDetail(ctx, ext, ReasonIDTokenInvalid, "the provider's ID token is not valid for the Hub", err.Error())
	}
	ext.ExternalID = idt.Issuer + " " + idt.Subject
	if idt.Nonce != rec.Nonce {
		return user.Issued{}, l.refuse(ctx, ext, ReasonNonceMismatch, "the ID token belongs to another sign-in")
	}
	return l.signIn(ctx, ext, idt)
}

// signIn reads the verified ID token's claims, maps them to a role and signs
// the user in.
func (l *Login) signIn(ctx context.Context, ext user.External, idt *oidc.IDToken) (user.Issued, error) {
	var std struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	var all map[string]any
	if err := idt.Claims(&std); err != nil {
		return user.Issued{}, l.refuseDetail(ctx, ext, ReasonIDTokenInvalid, "the provider's ID token could not be read", err.Error())
	}
	if err := idt.Claims(&all); err != nil {
		return user.Issued{}, l.refuseDetail(ctx, ext, ReasonIDTokenInvalid, "the provider's ID token could not be read", err.Error())
	}
	ext.Email, ext.Name = std.Email, std.Name
	if v, ok := std.EmailVerified.(bool); ok && !v || std.EmailVerified == "false" {
		return user.Issued{}, l.refuse(ctx, ext, ReasonEmailNotVerified, "the provider has not verified your email")
	}
	ext.Role = MapRole(l.Config, claimValues(all[l.Config.RolesClaim]))
	if ext.Role == "" {
		return user.Issued{}, l.Users.RecordExternalFailure(ctx, ext, ReasonNoMappedRole, "", errs.E(errs.PermissionDenied,
			"the sign-in with "+l.Config.Name+" could not be completed: none of your groups gives a role in the Hub; ask an administrator"))
	}
	return l.Users.SignInExternal(ctx, ext)
}

// refuse records a refused sign-in and returns the caller's error.
func (l *Login) refuse(ctx context.Context, ext user.External, reason, short string) error {
	return l.refuseDetail(ctx, ext, reason, short, "")
}

// refuseDetail is refuse with the cause (such as the verifier's reason) in
// the audit log; the caller sees only short.
func (l *Login) refuseDetail(ctx context.Context, ext user.External, reason, short, detail string) error {
	l.Log.WarnContext(ctx, "OpenID Connect sign-in refused", "reason", reason, "detail", detail)
	return l.Users.RecordExternalFailure(ctx, ext, reason, detail,
		errs.E(errs.Unauthenticated, "the sign-in with "+l.Config.Name+" could not be completed: "+short))
}

// MapRole is the highest role any of values gives (admin_values over
// developer_values over operator_values), else default_role ("" refuses).
func MapRole(c config.OIDC, values []string) string {
	for _, m := range []struct {
		role   string
		values []string
	}{{contract.RoleAdmin, c.AdminValues}, {contract.RoleDeveloper, c.DevValues}, {contract.RoleOperator, c.OpValues}} {
		for _, v := range values {
			if slices.Contains(m.values, v) {
				return m.role
			}
		}
	}
	return c.DefaultRole
}

// claimValues reads a claim that is a string or a list of strings.
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// random is 32 random bytes, base64url.
func random() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails; see crypto/rand
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}

// exchangeDetail is the provider's error code of a failed code exchange,
// never its whole answer (which might echo what was sent).
func exchangeDetail(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return "token endpoint answered " + re.ErrorCode + " " + re.ErrorDescription
	}
	return err.Error()
}
