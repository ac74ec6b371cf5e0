package ldaptest_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/testkit/ldaptest"
)

// TestStart checks the directory as the helper promises it: TLS with the
// test CA, the service account reads, and memberOf of a nested group.
func TestStart(t *testing.T) {
	s := ldaptest.Start(t)
	out := search(t, s.URL, s, ldaptest.GroupDN("ops-leads"), "memberOf")
	if !strings.Contains(out, "memberOf: "+ldaptest.GroupDN("hub-admins")) {
		t.Fatalf("ops-leads is not a member of hub-admins:\n%s", out)
	}
	s.RemoveMember(t, "ops-leads", ldaptest.UserDN("carol"))
	s.AddMember(t, "hub-developers", ldaptest.UserDN("carol"))
	out = search(t, s.StartTLSURL, s, ldaptest.UserDN("carol"), "memberOf")
	if !strings.Contains(out, "memberOf: "+ldaptest.GroupDN("hub-developers")) || strings.Contains(out, "ops-leads") {
		t.Fatalf("carol's groups after the move:\n%s", out)
	}
}

func search(t *testing.T, url string, s *ldaptest.Server, base, attr string) string {
	t.Helper()
	args := []string{"-x", "-LLL", "-H", url, "-D", s.BindDN, "-w", s.BindPassword, "-b", base, "-s", "base", "(objectClass=*)", attr}
	if strings.HasPrefix(url, "ldap://") {
		args = append(args, "-ZZ")
	}
	cmd := exec.Command("ldapsearch", args...)
	cmd.Env = append(cmd.Environ(), "LDAPTLS_CACERT="+s.CAFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch %s: %v: %s", url, err, out)
	}
	return string(out)
}
