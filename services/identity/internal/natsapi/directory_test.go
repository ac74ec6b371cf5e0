package natsapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/testkit/ldaptest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/identity/internal/directory"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/nats-io/nats.go"
)

// recheckEvery is the directory re-check interval of these tests.
const recheckEvery = 500 * time.Millisecond

// directoryService is the identity domain on the harness's store with
// directory sign-in against s (OpenLDAP, nested groups through memberOf).
func directoryService(t testing.TB, h *harness, s *ldaptest.Server) *user.Service {
	t.Helper()
	c := config.LDAP{
		URL: s.URL, CAFile: s.CAFile, BindDN: s.BindDN, BindPassword: s.BindPassword,
		UserBaseDN: ldaptest.PeopleDN, UserFilter: "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))",
		GroupSearch: directory.GroupSearchMemberOf, AdminGroups: config.DNList{ldaptest.GroupDN("hub-admins")},
		DevGroups: config.DNList{ldaptest.GroupDN("hub-developers")}, OpGroups: config.DNList{ldaptest.GroupDN("hub-operators")},
		EmailAttr: "mail", NameAttr: "displayName", Recheck: config.Duration(recheckEvery), Timeout: config.Duration(5 * time.Second),
	}
	dir, err := directory.New(c, c.CAFile, h.deps.Log)
	if err != nil {
		t.Fatal(err)
	}
	d := h.deps
	d.Directory = dir
	svc, err := user.NewService(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// signIn signs in login with their directory password.
func signIn(t *testing.T, svc *user.Service, login string) user.Issued {
	t.Helper()
	in, err := svc.Login(anonymous(), login, ldaptest.Password(strings.TrimSuffix(login, "@example.test")))
	if err != nil {
		t.Fatalf("sign in %s: %v", login, err)
	}
	return in
}

// failedSignIn finds the last refused sign-in event whose actor is named login.
func failedSignIn(t *testing.T, h *harness, login string) audit.Event {
	t.Helper()
	evs := h.events(t)
	for i := len(evs) - 1; i >= 0; i-- {
		if ev := evs[i].Event; ev.Action == "auth.login" && ev.Outcome == audit.Failure && ev.Actor.Email == login {
			if strings.Contains(evs[i].Raw, "-directory-pw") || strings.Contains(evs[i].Raw, "not her password") {
				t.Fatalf("event holds a password: %s", evs[i].Raw)
			}
			return ev
		}
	}
	t.Fatalf("no refused sign-in of %s", login)
	return audit.Event{}
}

// TestDirectorySignIn: directory users sign in with the role of their
// groups (nested ones too), at every sign-in anew; refusals say why in the
// audit log and nothing more to the caller; a local ADMIN signs in while the
// directory is down.
func TestDirectorySignIn(t *testing.T) {
	s := ldaptest.Start(t)
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	svc := directoryService(t, h, s)

	for login, want := range map[string]string{"alice": user.RoleAdmin, "carol": user.RoleAdmin, "bob@example.test": user.RoleDeveloper} {
		in := signIn(t, svc, login)
		if in.User.Role != want || in.User.Source != user.SourceDirectory || !strings.HasSuffix(in.User.Email, "@example.test") {
			t.Errorf("%s signed in as %v (source %s), want %s", login, in.User, in.User.Source, want)
		}
		p := must[identity.Principal](t)(h.authenticate(in.Token))
		if p.User.Role != want || p.User.Source != user.SourceDirectory {
			t.Errorf("%s's session is of %v (source %q), want %s from the directory", login, p.User, p.User.Source, want)
		}
	}

	s.RemoveMember(t, "hub-developers", ldaptest.UserDN("bob"))
	s.AddMember(t, "hub-operators", ldaptest.UserDN("bob"))
	if in := signIn(t, svc, "bob"); in.User.Role != user.RoleOperator {
		t.Errorf("bob moved to hub-operators signed in as %s", in.User.Role)
	}

	carol := must[user.User](t)(h.store.UserByExternalID(context.Background(), user.SourceDirectory, ldaptest.UserDN("carol")))
	must[identity.User](t)(update(h, admin, identity.UpdateUserRequest{ID: carol.ID, Disabled: new(true)}))

	// A local account already has dave's email: linking it would hand it to the directory.
	h.createUser(t, admin, "dave@example.test", identity.RoleOperator)
	_, err := svc.Login(anonymous(), "dave", ldaptest.Password("dave"))
	wantKind(t, err, errs.Conflict)
	if ev := failedSignIn(t, h, "dave@example.test"); ev.Reason != "email_taken_by_another_account" {
		t.Errorf("dave: reason %q", ev.Reason)
	}

	for _, tc := range []struct{ login, password, reason, actor string }{
		{"alice", "not her password", "wrong_password", "alice"},
		{"zed", "whatever", "unknown_user", "zed"},
		{"carol", ldaptest.Password("carol"), "user_disabled", carol.Email}, // known: the event names their account
	} {
		_, err := svc.Login(anonymous(), tc.login, tc.password)
		wantKind(t, err, errs.InvalidCredentials)
		if !strings.Contains(err.Error(), "invalid email or password") {
			t.Errorf("%s: %v, want the local sign-in's message", tc.login, err)
		}
		if ev := failedSignIn(t, h, tc.actor); ev.Reason != tc.reason || ev.Details["source"] != user.SourceDirectory {
			t.Errorf("%s: event reason %q details %v, want %s from the directory", tc.login, ev.Reason, ev.Details, tc.reason)
		}
	}
	_, err = svc.Login(anonymous(), "erin", ldaptest.Password("erin"))
	wantKind(t, err, errs.PermissionDenied)
	if ev := failedSignIn(t, h, "erin"); ev.Reason != "not_in_a_mapped_group" {
		t.Errorf("erin: reason %q", ev.Reason)
	}

	s.Stop(t)
	_, err = svc.Login(anonymous(), "alice", ldaptest.Password("alice"))
	wantKind(t, err, errs.Unavailable)
	if !strings.Contains(err.Error(), "the directory is unreachable; local accounts can still sign in") {
		t.Errorf("unreachable directory: %v", err)
	}
	if ev := failedSignIn(t, h, "alice"); ev.Reason != "directory_unreachable" {
		t.Errorf("unreachable directory: reason %q", ev.Reason)
	}
	if in, err := svc.Login(anonymous(), adminEmail, password); err != nil || in.User.Role != user.RoleAdmin {
		t.Errorf("local ADMIN while the directory is down: %v, %v", in.User, err)
	}
}

// TestDirectoryRecheck: a signed-in directory user the directory no longer
// vouches for loses their sessions within the re-check interval, one with a
// new role gets it; an unreachable directory ends nobody's session.
func TestDirectoryRecheck(t *testing.T) {
	s := ldaptest.Start(t)
	h := newHarness(t, fastParams)
	h.bootstrap(t)
	svc := directoryService(t, h, s)
	announced := announcements(t, h)
	tokens := map[string]string{}
	users := map[string]user.User{}
	for _, uid := range []string{"alice", "bob", "carol", "dave"} {
		in := signIn(t, svc, uid)
		tokens[uid], users[uid] = in.Token, in.User
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.RecheckDirectory(ctx, h.store, recheckEvery)

	s.RemoveMember(t, "ops-leads", ldaptest.UserDN("carol")) // out of hub-admins' nested group
	s.DeleteUser(t, "bob")
	s.RemoveMember(t, "hub-operators", ldaptest.UserDN("dave"))
	s.AddMember(t, "hub-developers", ldaptest.UserDN("dave"))
	for _, uid := range []string{"carol", "bob", "dave"} {
		waitFor(t, 5*time.Second, uid+"'s session to end", func() bool {
			_, err := h.authenticate(tokens[uid])
			return errs.Is(err, errs.Unauthenticated)
		})
		if !announced.has(users[uid].ID) {
			t.Errorf("the end of %s's sessions was not announced", uid)
		}
	}
	if u, err := h.store.UserByID(ctx, users["dave"].ID); err != nil || u.Role != user.RoleDeveloper {
		t.Errorf("dave moved to hub-developers: %v, %v", u, err)
	}
	reasons := map[string]string{}
	for _, ev := range h.events(t) {
		if ev.Action == "auth.session.end" {
			reasons[ev.Target.ID] = ev.Reason
		}
	}
	if reasons[users["carol"].ID] != "not_in_a_mapped_group" || reasons[users["bob"].ID] != "directory_user_gone" {
		t.Errorf("ended sessions' reasons: %v", reasons)
	}

	s.Stop(t)
	time.Sleep(3 * recheckEvery)
	if _, err := h.authenticate(tokens["alice"]); err != nil {
		t.Errorf("alice's session while the directory is unreachable: %v", err)
	}
}

// TestProviders: the sign-in page learns which methods are on.
func TestProviders(t *testing.T) {
	c := config.Default(t.TempDir()).Identity
	if p := natsapi.ProvidersOf(c); p.Directory || p.OIDC || p.OIDCName != "" {
		t.Errorf("defaults: %+v, want local accounts only", p)
	}
	c.LDAP.URL, c.OIDC.Issuer, c.OIDC.Name = "ldaps://dc.example.test", "https://sso.example.test", "Example SSO"
	if p := natsapi.ProvidersOf(c); !p.Directory || !p.OIDC || p.OIDCName != "Example SSO" {
		t.Errorf("both on: %+v", p)
	}
}

// announced collects the users whose sessions changed.
type announced struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *announced) has(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ids[id]
}

func announcements(t *testing.T, h *harness) *announced {
	t.Helper()
	a := &announced{ids: map[string]bool{}}
	_, err := natstest.Connect(t, h.url).Subscribe(identity.SubjectSessionsChanged, func(m *nats.Msg) {
		var ev identity.SessionsChanged
		if json.Unmarshal(m.Data, &ev) == nil {
			a.mu.Lock()
			a.ids[ev.UserID] = true
			a.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
	}
}
