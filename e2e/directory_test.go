package e2e

import (
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/ldaptest"
)

// TestDirectory: a pilot with directory sign-in against a real OpenLDAP.
// Directory users sign in through the public API with the role of their
// groups (nested ones too), the sign-in page says the directory is on, and
// a user taken out of every mapped group loses their session at the next
// re-check.
func TestDirectory(t *testing.T) {
	s := ldaptest.Start(t)
	v := newVendor(t)
	h := newHub(t)
	h.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	h.useDirectory(s, map[string]string{
		"DEVELOPER_GROUPS": ldaptest.GroupDN("hub-developers") + ";" + ldaptest.GroupDN("hub-operators"),
		"NAME_ATTRIBUTE":   "displayName", "RECHECK_INTERVAL": "1s",
	})
	h.start()
	bootstrapHub(t, h, v)
	anon := h.as("")

	p := anon.must(http.StatusOK, "GET", "/api/v1/auth/providers", nil)
	if p["directory"] != true || p["oidc"] != false {
		t.Fatalf("providers = %v, want the directory on", p)
	}
	tokens := map[string]string{}
	for uid, want := range map[string]string{"carol": "ADMIN", "bob": "DEVELOPER"} {
		out := anon.must(http.StatusOK, "POST", "/api/v1/auth/login", map[string]string{"email": uid, "password": ldaptest.Password(uid)})
		u, _ := out["user"].(map[string]any)
		if u["role"] != want || u["source"] != "directory" || u["email"] != uid+"@example.test" {
			t.Fatalf("%s signed in as %v, want %s from the directory", uid, u, want)
		}
		tokens[uid], _ = out["token"].(string)
	}
	status, out := anon.call("POST", "/api/v1/auth/login", map[string]string{"email": "bob", "password": "not bob's"})
	if status != http.StatusUnauthorized || errCode(out) != "invalid_credentials" {
		t.Fatalf("a wrong directory password = %d %v", status, out)
	}
	if page := loginPage(t, h); !strings.Contains(page, "Email or directory user name") {
		t.Fatalf("the sign-in page does not say directory users sign in there:\n%s", page)
	}

	s.RemoveMember(t, "ops-leads", ldaptest.UserDN("carol"))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		status, _ := h.as(tokens["carol"]).call("GET", "/api/v1/auth/me", nil)
		if status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol, in no mapped group, still signed in 10 s later (%d)", status)
		}
	}
	h.as(tokens["bob"]).must(http.StatusOK, "GET", "/api/v1/auth/me", nil)
}

// useDirectory sets h to sign people in against the test directory s:
// its users by uid or mail, groups by memberOf, hub-admins ADMIN; more adds
// or overrides identity.ldap.* settings (by their variable's suffix).
func (h *hub) useDirectory(s *ldaptest.Server, more map[string]string) {
	settings := map[string]string{
		"URL": s.URL, "CA_FILE": s.CAFile, "BIND_DN": s.BindDN, "BIND_PASSWORD": s.BindPassword,
		"USER_BASE_DN": ldaptest.PeopleDN, "USER_FILTER": "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))",
		"GROUP_SEARCH": "memberof", "ADMIN_GROUPS": ldaptest.GroupDN("hub-admins"),
	}
	maps.Copy(settings, more)
	for key, value := range settings {
		h.env["EXEKRA_IDENTITY_LDAP_"+key] = value
	}
}

// loginPage is the console's sign-in page.
func loginPage(t *testing.T, h *hub) string {
	t.Helper()
	resp, err := insecure.Get(h.gateway + "/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
