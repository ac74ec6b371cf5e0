package e2e

import (
	"strings"
	"testing"
)

// TestConsoleWalk sets up a fresh Hub in the browser as an administrator
// would: activate, bootstrap, sign in, create a DEVELOPER, then signs in as
// them and finds no admin pages offered (and refused when forced).
func TestConsoleWalk(t *testing.T) {
	v := newVendor(t)
	h := newHub(t)
	h.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	h.start()
	b := newBrowser(t)

	b.open(h.gateway + "/")
	b.wait("#activate-license")
	b.set("#activate-license", v.issue(adminEmail, "3"))
	b.click("#activate-submit")

	b.wait("#bootstrap-email")
	b.typeIn("#bootstrap-email", strings.ToLower(adminEmail))
	b.typeIn("#bootstrap-name", "First Admin")
	b.typeIn("#bootstrap-password", goodPassword)
	b.typeIn("#bootstrap-confirm", goodPassword)
	b.click("#bootstrap-submit")

	b.wait("#login-email")
	signIn(b, strings.ToLower(adminEmail))
	b.wait("#license-status")
	if s := b.text("#license-status"); !strings.Contains(s, "active") {
		t.Fatalf("dashboard license status = %q", s)
	}
	for _, nav := range []string{"#nav-users", "#nav-license", "#nav-audit"} {
		if !b.exists(nav) {
			t.Fatalf("the admin's menu lacks %s", nav)
		}
	}

	b.click("#nav-users")
	b.wait("#users-create-email")
	b.typeIn("#users-create-email", "dev@acme.test")
	b.typeIn("#users-create-name", "Dev Eloper")
	b.typeIn("#users-create-password", goodPassword)
	b.set("#users-create-role", "DEVELOPER")
	b.click("#users-create-submit")
	b.wait(`tr[data-email="dev@acme.test"]`)

	b.click("#nav-audit")
	b.wait("#audit-verify")
	if !b.eval(`document.querySelector('#audit-verify').dataset.ok === 'true'`) {
		t.Fatalf("audit page verify status: %q", b.text("#audit-verify"))
	}

	b.click("#nav-logout")
	b.wait("#login-email")
	signIn(b, "dev@acme.test")
	b.wait("#nav-dashboard")
	for _, nav := range []string{"#nav-users", "#nav-license", "#nav-audit"} {
		if b.exists(nav) {
			t.Fatalf("a DEVELOPER is offered %s", nav)
		}
	}
	b.open(h.gateway + "/users")
	b.wait("#error-page")
	if !strings.Contains(b.text("#error-page"), "not open to you") {
		t.Fatalf("forced /users as a DEVELOPER shows %q", b.text("#error-page"))
	}
}

func signIn(b *browser, email string) {
	b.t.Helper()
	b.typeIn("#login-email", email)
	b.typeIn("#login-password", goodPassword)
	b.click("#login-submit")
}
