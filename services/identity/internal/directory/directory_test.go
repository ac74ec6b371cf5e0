package directory_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/testkit/ldaptest"
	"github.com/exekra/hub/services/identity/internal/directory"
	"github.com/exekra/hub/services/identity/internal/user"
)

// Settings returns directory settings for s (OpenLDAP, memberof groups).
func settings(s *ldaptest.Server) config.LDAP {
	return config.LDAP{
		URL: s.URL, CAFile: s.CAFile, BindDN: s.BindDN, BindPassword: s.BindPassword,
		UserBaseDN: ldaptest.PeopleDN, UserFilter: "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))",
		GroupSearch: directory.GroupSearchMemberOf,
		AdminGroups: config.DNList{ldaptest.GroupDN("hub-admins")},
		// Case and spacing differ from the directory's: DNs compare as DNs.
		DevGroups: config.DNList{"CN=Hub-Developers, OU=groups, DC=example, DC=test"},
		OpGroups:  config.DNList{ldaptest.GroupDN("hub-operators")},
		EmailAttr: "mail", NameAttr: "displayName",
		Recheck: config.Duration(time.Second), Timeout: config.Duration(5 * time.Second),
	}
}

func open(t *testing.T, c config.LDAP) *directory.Directory {
	t.Helper()
	d, err := directory.New(c, c.CAFile, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("new directory: %v", err)
	}
	return d
}

func TestAuthenticateMapsGroupsToRoles(t *testing.T) {
	s := ldaptest.Start(t)
	d := open(t, settings(s))
	ctx := context.Background()
	s.AddMember(t, "ops-leads", ldaptest.GroupDN("hub-admins")) // a cycle: followed once
	for login, want := range map[string]string{
		"alice": user.RoleAdmin, "carol": user.RoleAdmin, // carol through ops-leads, nested in hub-admins
		"bob@example.test": user.RoleDeveloper, "dave": user.RoleOperator,
	} {
		uid := strings.TrimSuffix(login, "@example.test")
		du, err := d.Authenticate(ctx, login, ldaptest.Password(uid))
		if err != nil {
			t.Fatalf("authenticate %s: %v", login, err)
		}
		if du.Role != want || du.DN != ldaptest.UserDN(uid) || du.Email != uid+"@example.test" || !strings.HasSuffix(du.Name, " Example") {
			t.Errorf("authenticate %s = %+v, want role %s", login, du, want)
		}
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	s := ldaptest.Start(t)
	d := open(t, settings(s))
	ctx := context.Background()
	for _, tc := range []struct {
		login, password string
		want            error
	}{
		{"alice", "wrong", user.ErrDirectoryWrongPassword},
		{"alice", "", user.ErrDirectoryWrongPassword}, // never an unauthenticated bind
		{"nobody-here", "x", user.ErrDirectoryUnknownUser},
		{"*", "x", user.ErrDirectoryUnknownUser}, // escaped: no wildcard
		{"erin", ldaptest.Password("erin"), user.ErrDirectoryNoGroup},
	} {
		if _, err := d.Authenticate(ctx, tc.login, tc.password); !errors.Is(err, tc.want) {
			t.Errorf("authenticate %q: %v, want %v", tc.login, err, tc.want)
		}
	}
	c := settings(s)
	c.DefaultRole = user.RoleOperator
	if du, err := open(t, c).Authenticate(ctx, "erin", ldaptest.Password("erin")); err != nil || du.Role != user.RoleOperator {
		t.Errorf("erin with a default role: %+v, %v", du, err)
	}
	s.Stop(t)
	if _, err := d.Authenticate(ctx, "alice", ldaptest.Password("alice")); !errors.Is(err, user.ErrDirectoryUnreachable) {
		t.Errorf("stopped directory: %v, want unreachable", err)
	}
}

func TestTLS(t *testing.T) {
	s := ldaptest.Start(t)
	ctx := context.Background()
	c := settings(s)
	c.URL, c.StartTLS = s.StartTLSURL, true
	if du, err := open(t, c).Authenticate(ctx, "alice", ldaptest.Password("alice")); err != nil || du.Role != user.RoleAdmin {
		t.Errorf("StartTLS: %+v, %v", du, err)
	}
	c = settings(s)
	c.CAFile = ldaptest.ForeignCAFile(t)
	_, err := open(t, c).Authenticate(ctx, "alice", ldaptest.Password("alice"))
	if !errors.Is(err, user.ErrDirectoryUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a certificate the CA did not sign: %v, want refused", err)
	}
	c = settings(s)
	c.URL = s.StartTLSURL
	if _, err := directory.New(c, c.CAFile, slog.Default()); err == nil || !strings.Contains(err.Error(), "start_tls") {
		t.Errorf("ldap:// without StartTLS: %v, want refused", err)
	}
}

func TestLookupFollowsTheDirectory(t *testing.T) {
	s := ldaptest.Start(t)
	d := open(t, settings(s))
	ctx := context.Background()
	lookup := func(uid string) (string, error) {
		du, err := d.Lookup(ctx, ldaptest.UserDN(uid))
		return du.Role, err
	}
	if role, err := lookup("carol"); err != nil || role != user.RoleAdmin {
		t.Fatalf("carol: %s, %v", role, err)
	}
	s.RemoveMember(t, "ops-leads", ldaptest.UserDN("carol"))
	s.AddMember(t, "hub-operators", ldaptest.UserDN("carol"))
	if role, err := lookup("carol"); err != nil || role != user.RoleOperator {
		t.Errorf("carol moved to hub-operators: %s, %v", role, err)
	}
	s.RemoveMember(t, "hub-operators", ldaptest.UserDN("carol"))
	if _, err := lookup("carol"); !errors.Is(err, user.ErrDirectoryNoGroup) {
		t.Errorf("carol in no group: %v", err)
	}
	s.DeleteUser(t, "bob")
	if _, err := lookup("bob"); !errors.Is(err, user.ErrDirectoryUnknownUser) {
		t.Errorf("bob deleted: %v", err)
	}
}
