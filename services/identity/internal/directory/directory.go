// Package directory checks users against an LDAP directory or Active
// Directory: a service account finds the user, a bind as the user checks
// their password (the Hub never keeps it), and the user's groups, nested
// ones included, map to a role.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/go-ldap/ldap/v3"
)

// Group searches.
const (
	GroupSearchAD       = "ad"       // the directory resolves nesting (matching rule 1.2.840.113556.1.4.1941)
	GroupSearchMemberOf = "memberof" // memberOf of the user, then of each group (OpenLDAP's memberof overlay)
)

// maxNesting bounds how deep groups are followed with GroupSearchMemberOf.
const maxNesting = 8

// Directory is one configured directory; safe for concurrent use (every
// operation opens its own connection).
type Directory struct {
	cfg   config.LDAP
	url   *url.URL
	tls   *tls.Config
	roles []roleGroups // highest role first
	log   *slog.Logger
}

// roleGroups are the groups (normalized DNs) whose members get role.
type roleGroups struct {
	role   string
	groups map[string]bool
}

var _ user.Directory = (*Directory)(nil)

// New checks the settings and prepares the directory; caFile is already
// resolved against the install dir. No connection is made yet.
func New(c config.LDAP, caFile string, log *slog.Logger) (*Directory, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("identity.ldap.url %q: not an ldaps:// or ldap:// URL", c.URL)
	}
	switch {
	case u.Scheme == "ldaps" && c.StartTLS:
		return nil, errors.New("identity.ldap.start_tls: an ldaps:// URL is already TLS; turn start_tls off or use ldap://")
	case u.Scheme == "ldap" && !c.StartTLS:
		return nil, errors.New("identity.ldap.url: ldap:// without start_tls would send passwords in clear; use ldaps:// or turn identity.ldap.start_tls on")
	case u.Scheme != "ldaps" && u.Scheme != "ldap":
		return nil, fmt.Errorf("identity.ldap.url %q: the scheme must be ldaps or ldap", c.URL)
	}
	if err := checkSettings(c); err != nil {
		return nil, err
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("identity.ldap.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("identity.ldap.ca_file %s: no PEM certificate in it", caFile)
		}
	}
	if c.GroupBaseDN == "" {
		c.GroupBaseDN = c.UserBaseDN
	}
	d := &Directory{cfg: c, url: u, tls: tc, log: log}
	for _, rg := range []struct {
		role string
		dns  config.DNList
	}{{user.RoleAdmin, c.AdminGroups}, {user.RoleDeveloper, c.DevGroups}, {user.RoleOperator, c.OpGroups}} {
		groups := map[string]bool{}
		for _, dn := range rg.dns {
			groups[dnKey(dn)] = true
		}
		d.roles = append(d.roles, roleGroups{role: rg.role, groups: groups})
	}
	return d, nil
}

// checkSettings refuses settings that cannot work.
func checkSettings(c config.LDAP) error {
	switch {
	case c.BindDN == "" || c.BindPassword == "":
		return errors.New("identity.ldap.bind_dn and identity.ldap.bind_password: the service account that searches the directory is required")
	case c.UserBaseDN == "":
		return errors.New("identity.ldap.user_base_dn is required")
	case !strings.Contains(c.UserFilter, "{login}"):
		return errors.New("identity.ldap.user_filter must hold {login}, replaced by what the user typed")
	case c.GroupSearch != GroupSearchAD && c.GroupSearch != GroupSearchMemberOf:
		return fmt.Errorf("identity.ldap.group_search %q: must be ad or memberof", c.GroupSearch)
	case c.DefaultRole != "" && c.DefaultRole != user.RoleAdmin && c.DefaultRole != user.RoleDeveloper && c.DefaultRole != user.RoleOperator:
		return fmt.Errorf("identity.ldap.default_role %q: must be ADMIN, DEVELOPER, OPERATOR or empty", c.DefaultRole)
	case c.EmailAttr == "":
		return errors.New("identity.ldap.email_attribute is required")
	case c.Timeout.D() <= 0 || c.Recheck.D() <= 0:
		return errors.New("identity.ldap.timeout and identity.ldap.recheck_interval must be positive")
	}
	return nil
}

// Name is the directory's host, as the audit log names it.
func (d *Directory) Name() string { return d.url.Host }

// Authenticate finds the user login names, binds as them with password and
// maps their groups to a role. An empty password is refused before any
// bind: many directories take a bind with a DN and no password as an
// anonymous bind that "succeeds".
func (d *Directory) Authenticate(ctx context.Context, login, password string) (user.DirectoryUser, error) {
	login = strings.TrimSpace(login)
	if login == "" {
		return user.DirectoryUser{}, user.ErrDirectoryUnknownUser
	}
	if password == "" {
		return user.DirectoryUser{}, user.ErrDirectoryWrongPassword
	}
	var du user.DirectoryUser
	err := d.withConn(ctx, func(conn *ldap.Conn) error {
		filter := strings.ReplaceAll(d.cfg.UserFilter, "{login}", ldap.EscapeFilter(login))
		entry, err := d.findUser(conn, d.cfg.UserBaseDN, ldap.ScopeWholeSubtree, filter)
		if err != nil {
			return err
		}
		if err := conn.Bind(entry.DN, password); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				return user.ErrDirectoryWrongPassword
			}
			return unreachable("bind as the user", err)
		}
		if err := d.serviceBind(conn); err != nil { // the user may not read groups
			return err
		}
		du, err = d.userOf(conn, entry)
		return err
	})
	return du, err
}

// Lookup reads the user with DN dn again: still there, still matching the
// user filter (with any login: an Active Directory user disabled since no
// longer matches), and in which mapped group.
func (d *Directory) Lookup(ctx context.Context, dn string) (user.DirectoryUser, error) {
	var du user.DirectoryUser
	err := d.withConn(ctx, func(conn *ldap.Conn) error {
		filter := strings.ReplaceAll(d.cfg.UserFilter, "{login}", "*")
		entry, err := d.findUser(conn, dn, ldap.ScopeBaseObject, filter)
		if err != nil {
			return err
		}
		du, err = d.userOf(conn, entry)
		return err
	})
	return du, err
}

// withConn connects (TLS verified against ca_file or the system's CAs),
// binds as the service account and runs fn. Every operation has the
// configured timeout; ctx ending closes the connection.
func (d *Directory) withConn(ctx context.Context, fn func(*ldap.Conn) error) error {
	timeout := d.cfg.Timeout.D()
	conn, err := ldap.DialURL(d.url.String(), ldap.DialWithDialer(&net.Dialer{Timeout: timeout}), ldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return unreachable("connect", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetTimeout(timeout)
	if d.cfg.StartTLS {
		if err := conn.StartTLS(d.tls); err != nil {
			return unreachable("StartTLS", err)
		}
	}
	if err := d.serviceBind(conn); err != nil {
		return err
	}
	return fn(conn)
}

// serviceBind binds as the service account. A refused service bind is a
// configuration fault, not the user's: it counts as unreachable.
func (d *Directory) serviceBind(conn *ldap.Conn) error {
	if err := conn.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
		return unreachable("bind as the service account "+d.cfg.BindDN, err)
	}
	return nil
}

// findUser returns the one entry under base matching filter.
func (d *Directory) findUser(conn *ldap.Conn, base string, scope int, filter string) (*ldap.Entry, error) {
	attrs := []string{d.cfg.EmailAttr}
	if d.cfg.NameAttr != "" {
		attrs = append(attrs, d.cfg.NameAttr)
	}
	if d.cfg.GroupSearch == GroupSearchMemberOf {
		attrs = append(attrs, "memberOf")
	}
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 2, int(d.cfg.Timeout.D().Seconds()), false, filter, attrs, nil)
	res, err := conn.Search(req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, user.ErrDirectoryUnknownUser
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("%w: more than one entry matches", user.ErrDirectoryUnknownUser)
	case err != nil:
		return nil, unreachable("search the user", err)
	case len(res.Entries) != 1:
		return nil, user.ErrDirectoryUnknownUser
	}
	return res.Entries[0], nil
}

// userOf reads entry's email and name and maps its groups to a role.
func (d *Directory) userOf(conn *ldap.Conn, entry *ldap.Entry) (user.DirectoryUser, error) {
	groups, err := d.groupsOf(conn, entry)
	if err != nil {
		return user.DirectoryUser{}, err
	}
	role := d.cfg.DefaultRole
	for _, rg := range d.roles {
		if hasAny(groups, rg.groups) {
			role = rg.role
			break
		}
	}
	if role == "" {
		return user.DirectoryUser{}, user.ErrDirectoryNoGroup
	}
	du := user.DirectoryUser{DN: entry.DN, Email: entry.GetAttributeValue(d.cfg.EmailAttr), Role: role}
	if d.cfg.NameAttr != "" {
		du.Name = entry.GetAttributeValue(d.cfg.NameAttr)
	}
	return du, nil
}

// hasAny reports whether any of groups is in mapped.
func hasAny(groups, mapped map[string]bool) bool {
	for g := range groups {
		if mapped[g] {
			return true
		}
	}
	return false
}

// groupsOf returns every group entry is a member of, directly or through
// other groups, as normalized DNs.
func (d *Directory) groupsOf(conn *ldap.Conn, entry *ldap.Entry) (map[string]bool, error) {
	if d.cfg.GroupSearch == GroupSearchAD {
		filter := "(member:1.2.840.113556.1.4.1941:=" + ldap.EscapeFilter(entry.DN) + ")"
		req := ldap.NewSearchRequest(d.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0,
			int(d.cfg.Timeout.D().Seconds()), false, filter, []string{"1.1"}, nil)
		res, err := conn.SearchWithPaging(req, 500)
		if err != nil {
			return nil, unreachable("search the user's groups", err)
		}
		groups := map[string]bool{}
		for _, g := range res.Entries {
			groups[dnKey(g.DN)] = true
		}
		return groups, nil
	}
	return d.memberOfClosure(conn, entry.GetAttributeValues("memberOf"))
}

// memberOfClosure follows memberOf from the user's groups to the groups
// they are in, breadth first, maxNesting levels deep; a group seen before
// is not read again, so cycles end.
func (d *Directory) memberOfClosure(conn *ldap.Conn, direct []string) (map[string]bool, error) {
	groups := map[string]bool{}
	level := direct
	for depth := 0; depth < maxNesting && len(level) > 0; depth++ {
		var next []string
		for _, dn := range level {
			if groups[dnKey(dn)] {
				continue
			}
			groups[dnKey(dn)] = true
			req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1,
				int(d.cfg.Timeout.D().Seconds()), false, "(objectClass=*)", []string{"memberOf"}, nil)
			res, err := conn.Search(req)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				continue // a dangling memberOf value
			}
			if err != nil {
				return nil, unreachable("read group "+dn, err)
			}
			for _, e := range res.Entries {
				next = append(next, e.GetAttributeValues("memberOf")...)
			}
		}
		level = next
	}
	return groups, nil
}

// dnKey normalizes a DN so that DNs that differ only in case or spacing are equal.
func dnKey(dn string) string {
	if parsed, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(parsed.String())
	}
	return strings.ToLower(strings.TrimSpace(dn))
}

// unreachable wraps err of what as an unreachable directory.
func unreachable(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", user.ErrDirectoryUnreachable, what, err)
}
