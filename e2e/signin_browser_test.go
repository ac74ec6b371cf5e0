package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/hydratest"
	"github.com/exekra/hub/libs/testkit/ldaptest"
)

// TestSignInInBrowser: a pilot with both directory sign-in (a real slapd)
// and OpenID Connect (a real Ory Hydra), driven in Chromium as a person
// would: the sign-in page (checked with axe-core) offers both; a directory
// user signs in with the form and lands with the role of their groups;
// signing out and pressing "Sign in with …" goes through the provider and
// back, signed in with the role of the provider's groups claim; a directory
// user moved to another group gets the new role at the next sign-in.
func TestSignInInBrowser(t *testing.T) {
	dir := ldaptest.Start(t)
	op := hydratest.Start(t)
	v := newVendor(t)
	h := newHub(t)
	h.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	h.useDirectory(dir, map[string]string{
		"DEVELOPER_GROUPS": ldaptest.GroupDN("hub-developers"), "OPERATOR_GROUPS": ldaptest.GroupDN("hub-operators"),
	})
	h.useOIDC(t, op, map[string]string{"OPERATOR_VALUES": "staff"})
	h.start()
	bootstrapHub(t, h, v)

	b := newBrowserFor(t, 3*time.Minute)
	tr := &tour{b: b, axe: axeSource(t), dir: t.TempDir(), impacts: map[string]int{}}
	b.open(h.gateway + "/login")
	b.wait("#login-oidc")
	if label := b.text(`label[for="login-email"]`); label != "Email or directory user name" {
		t.Fatalf("the sign-in field is labelled %q", label)
	}
	tr.check("login-with-providers")

	signInDirectory := func(uid, wantRole string) {
		t.Helper()
		b.open(h.gateway + "/login")
		b.wait("#login-email")
		b.typeIn("#login-email", uid)
		b.typeIn("#login-password", ldaptest.Password(uid))
		b.click("#login-submit")
		b.wait("#nav-user")
		if role := b.attr("#nav-user", "data-role"); role != wantRole {
			t.Fatalf("%s signed in with the form as %q, want %s", uid, role, wantRole)
		}
		if who := b.text("#nav-user"); who != uid+"@example.test" {
			t.Fatalf("the console shows %q signed in, want %s@example.test", who, uid)
		}
		b.click("#nav-logout")
		b.wait("#login-email")
	}
	signInDirectory("bob", "DEVELOPER")

	op.SignInAs(hydratest.User{Subject: "erin-0001", Claims: map[string]any{
		"email": "erin@acme.test", "email_verified": true, "name": "Erin Ops", "groups": []string{"staff"}}})
	b.click("#login-oidc")
	b.wait("#nav-user")
	if role, who := b.attr("#nav-user", "data-role"), b.text("#nav-user"); role != "OPERATOR" || who != "erin@acme.test" {
		t.Fatalf("after single sign-on the console shows %q as %q, want erin@acme.test as OPERATOR", who, role)
	}
	tr.check("dashboard-after-single-sign-on")
	b.click("#nav-logout")
	b.wait("#login-email")

	dir.RemoveMember(t, "hub-developers", ldaptest.UserDN("bob"))
	dir.AddMember(t, "hub-admins", ldaptest.UserDN("bob"))
	signInDirectory("bob", "ADMIN")

	// The same through the API: the directory's answer for a stranger.
	if status, out := h.as("").call("POST", "/api/v1/auth/login", map[string]string{"email": "nobody-here", "password": "x"}); status != http.StatusUnauthorized || errCode(out) != "invalid_credentials" {
		t.Fatalf("an unknown directory user = %d %v", status, out)
	}
}
