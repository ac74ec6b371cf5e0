// Package ldaptest starts a private OpenLDAP server (slapd) for a test: a
// child process on free loopback ports (ldaps:// and ldap:// with
// StartTLS) with its own cn=config, made with slapadd from an LDIF, a
// certificate of a test CA, the memberof and refint overlays, and a small
// directory under dc=example,dc=test:
//
//   - users alice, bob, carol, dave and erin (uid=<name>,ou=people; mail
//     <name>@example.test; password Password(<name>));
//   - groups (cn=<name>,ou=groups) hub-admins {alice, ops-leads},
//     ops-leads {carol} (nested in hub-admins), hub-developers {bob} and
//     hub-operators {dave}; erin is in no group;
//   - the service account cn=hub-service,dc=example,dc=test;
//   - cn=nobody,dc=example,dc=test, a member of every group so that none
//     is ever empty (groupOfNames needs a member).
//
// The Debian packages slapd and ldap-utils provide the programs.
package ldaptest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/freeport"
)

// Names in the test directory.
const (
	BaseDN   = "dc=example,dc=test"
	PeopleDN = "ou=people," + BaseDN
	GroupsDN = "ou=groups," + BaseDN
	rootDN   = "cn=admin," + BaseDN
	rootPW   = "root-secret"
	nobodyDN = "cn=nobody," + BaseDN
)

// Users are the users of the test directory.
var Users = []string{"alice", "bob", "carol", "dave", "erin"}

// Server is a running slapd.
type Server struct {
	URL          string // ldaps://127.0.0.1:<port>
	StartTLSURL  string // ldap://127.0.0.1:<port>, for StartTLS
	CAFile       string // the test CA that signed the server's certificate
	BindDN       string // the service account
	BindPassword string

	dir      string
	ldapPort int
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
}

// UserDN is the DN of user uid.
func UserDN(uid string) string { return "uid=" + uid + "," + PeopleDN }

// GroupDN is the DN of group cn.
func GroupDN(cn string) string { return "cn=" + cn + "," + GroupsDN }

// Password is the directory password of user uid.
func Password(uid string) string { return uid + "-directory-pw" }

// Start starts slapd with the test directory and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	for _, prog := range []string{"/usr/sbin/slapd", "/usr/sbin/slapadd", "ldapmodify"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("ldaptest: %s not found (apt-get install slapd ldap-utils): %v", prog, err)
		}
	}
	s := &Server{dir: t.TempDir(), BindDN: "cn=hub-service," + BaseDN, BindPassword: "service-secret"}
	s.CAFile = filepath.Join(s.dir, "ca.pem")
	if err := s.configure(); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	t.Cleanup(s.stop)
	var err error
	for range 5 { // a free port may be taken before slapd binds it
		if err = s.start(t); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	s.Modify(t, s.data())
	return s
}

// configure writes the certificates and makes cn=config with slapadd.
func (s *Server) configure() error {
	ca, err := newAuthority("ldaptest CA")
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.CAFile, ca.pem, 0o644); err != nil {
		return err
	}
	cert, key := filepath.Join(s.dir, "server.pem"), filepath.Join(s.dir, "server.key")
	if err := ca.writeServer(cert, key); err != nil {
		return err
	}
	for _, d := range []string{"slapd.d", "data"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o700); err != nil {
			return err
		}
	}
	ldif := fmt.Sprintf(configLDIF, s.dir, s.CAFile, cert, key, rootDN, rootPW, filepath.Join(s.dir, "data"), BaseDN, s.BindDN, nobodyDN)
	cmd := exec.Command("/usr/sbin/slapadd", "-n0", "-F", filepath.Join(s.dir, "slapd.d"))
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd cn=config: %v: %s", err, out)
	}
	return nil
}

// start runs slapd on free ports (the ldap:// port is kept across restarts).
func (s *Server) start(t testing.TB) error {
	ldapsPort := freeport.Port(t)
	if s.ldapPort == 0 {
		s.ldapPort = freeport.Port(t)
	}
	if s.URL != "" {
		ldapsPort = mustPort(s.URL)
	}
	url := "ldaps://127.0.0.1:" + strconv.Itoa(ldapsPort)
	startTLS := "ldap://127.0.0.1:" + strconv.Itoa(s.ldapPort)
	var logs bytes.Buffer
	cmd := exec.Command("/usr/sbin/slapd", "-d", "0", "-F", filepath.Join(s.dir, "slapd.d"), "-h", startTLS+"/ "+url+"/")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			return fmt.Errorf("slapd exited: %s", logs.String())
		default:
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ldapsPort)); err == nil {
			c.Close()
			s.mu.Lock()
			s.cmd, s.done, s.URL, s.StartTLSURL = cmd, done, url, startTLS
			s.mu.Unlock()
			return nil
		}
	}
	cmd.Process.Kill()
	<-done
	return fmt.Errorf("slapd did not listen within 10 s: %s", logs.String())
}

// Stop stops slapd (the directory becomes unreachable); Restart starts it again.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Restart starts a stopped slapd again, on the same ports and data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.start(t); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
}

func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Modify applies an LDIF of changes (changetype add, modify, delete) as the
// directory's administrator.
func (s *Server) Modify(t testing.TB, ldif string) {
	t.Helper()
	cmd := exec.Command("ldapmodify", "-x", "-H", s.StartTLSURL, "-D", rootDN, "-w", rootPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldaptest: ldapmodify: %v: %s", err, out)
	}
}

// AddMember adds memberDN to group cn.
func (s *Server) AddMember(t testing.TB, cn, memberDN string) {
	t.Helper()
	s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n", GroupDN(cn), memberDN))
}

// RemoveMember removes memberDN from group cn.
func (s *Server) RemoveMember(t testing.TB, cn, memberDN string) {
	t.Helper()
	s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: modify\ndelete: member\nmember: %s\n", GroupDN(cn), memberDN))
}

// DeleteUser deletes user uid (refint removes them from their groups).
func (s *Server) DeleteUser(t testing.TB, uid string) {
	t.Helper()
	s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: delete\n", UserDN(uid)))
}

// ForeignCAFile writes a CA certificate that did not sign the server's.
func ForeignCAFile(t testing.TB) string {
	t.Helper()
	ca, err := newAuthority("another CA")
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	f := filepath.Join(t.TempDir(), "foreign-ca.pem")
	if err := os.WriteFile(f, ca.pem, 0o644); err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	return f
}

// data is the directory's entries, users before the groups that hold them.
func (s *Server) data() string {
	var b strings.Builder
	add := func(dn string, lines ...string) {
		fmt.Fprintf(&b, "dn: %s\nchangetype: add\n%s\n\n", dn, strings.Join(lines, "\n"))
	}
	add(BaseDN, "objectClass: dcObject", "objectClass: organization", "o: Example", "dc: example")
	add(s.BindDN, "objectClass: person", "cn: hub-service", "sn: service", "userPassword: "+ssha(s.BindPassword))
	add(nobodyDN, "objectClass: person", "cn: nobody", "sn: nobody")
	add(PeopleDN, "objectClass: organizationalUnit", "ou: people")
	add(GroupsDN, "objectClass: organizationalUnit", "ou: groups")
	for _, uid := range Users {
		name := strings.ToUpper(uid[:1]) + uid[1:]
		add(UserDN(uid), "objectClass: inetOrgPerson", "uid: "+uid, "cn: "+name+" Example", "sn: Example",
			"displayName: "+name+" Example", "mail: "+uid+"@example.test", "userPassword: "+ssha(Password(uid)))
	}
	add(GroupDN("ops-leads"), "objectClass: groupOfNames", "cn: ops-leads", "member: "+nobodyDN, "member: "+UserDN("carol"))
	add(GroupDN("hub-admins"), "objectClass: groupOfNames", "cn: hub-admins", "member: "+nobodyDN, "member: "+UserDN("alice"), "member: "+GroupDN("ops-leads"))
	add(GroupDN("hub-developers"), "objectClass: groupOfNames", "cn: hub-developers", "member: "+nobodyDN, "member: "+UserDN("bob"))
	add(GroupDN("hub-operators"), "objectClass: groupOfNames", "cn: hub-operators", "member: "+nobodyDN, "member: "+UserDN("dave"))
	return b.String()
}

// ssha is password's {SSHA} hash as slappasswd makes it.
func ssha(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

func mustPort(url string) int {
	p, _ := strconv.Atoi(url[strings.LastIndex(url, ":")+1:])
	return p
}

// configLDIF is cn=config: TLS, the mdb database with memberof and refint.
// Arguments: dir, CA, certificate, key, root DN, root password, data dir,
// suffix, service account, the member that keeps groups non-empty.
const configLDIF = `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcTLSCACertificateFile: %[2]s
olcTLSCertificateFile: %[3]s
olcTLSCertificateKeyFile: %[4]s

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: %[8]s
olcRootDN: %[5]s
olcRootPW: %[6]s
olcDbDirectory: %[7]s
olcDbMaxSize: 67108864
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by dn.exact="%[9]s" read by self read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: member
olcRefintNothing: %[10]s
`
