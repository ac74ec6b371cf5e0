package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/gateway/internal/websession"
)

// wantNoSecret fails when secret is in any header of w (Location, Set-Cookie, ...).
func wantNoSecret(t *testing.T, w *httptest.ResponseRecorder, secret string) {
	t.Helper()
	for name, vals := range w.Header() {
		for _, v := range vals {
			if strings.Contains(v, secret) {
				t.Fatalf("header %s carries the secret: %q", name, v)
			}
		}
	}
}

func (f *fakeHub) runnerCount() (n int) {
	f.with(func(f *fakeHub) { n = len(f.runners.items) })
	return n
}

func TestRegisterRunner(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	form := func(name string) url.Values {
		return url.Values{"name": {name}, "environment": {"Staging"}, "labels": {" linux , gpu ,, "}}
	}
	t.Run("the secret is shown once, with the agent command", func(t *testing.T) {
		w := h.post("/runners", adminToken, form("ci-04"))
		const secret = "exk_ms_fresh1Kx7"
		wantPage(t, w, http.StatusOK, `<title>Runner registered`, `id="runner-secret">`+secret+`<`, `id="runner-secret-copy"`,
			`data-copy="runner-secret"`, `id="runner-id">r-new-1<`, `id="runner-name">ci-04<`, `id="runner-environment">Staging<`,
			`id="runner-command">exekra-runner --hub http://example.com/ --id r-new-1 --secret-file /etc/exekra-runner/secret<`,
			`id="runner-command-copy"`, "install -m 600 /dev/stdin /etc/exekra-runner/secret", `id="runner-secret-done"`)
		wantNot(t, w, "--fingerprint "+secret, `id="runner-fingerprint"`)
		if w.Header().Get("Location") != "" || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("Location %q, Cache-Control %q", w.Header().Get("Location"), w.Header().Get("Cache-Control"))
		}
		if n := strings.Count(w.Body.String(), secret); n != 1 {
			t.Fatalf("the secret appears %d times, want once", n)
		}
		wantNoSecret(t, w, secret)
		h.fake.with(func(f *fakeHub) {
			if got := f.runners.items[len(f.runners.items)-1].Labels; !slices.Equal(got, []string{"linux", "gpu"}) {
				t.Fatalf("labels = %q", got)
			}
		})
		wantNot(t, h.get("/runners", adminToken), secret)
		wantNot(t, h.get("/runners?flash="+secret, adminToken), secret)
	})
	t.Run("over HTTPS the command names the https address the browser used", func(t *testing.T) {
		r := overTLS(postRequest("/runners", adminToken, form("ci-05")))
		r.Host = "hub.example.com:8443"
		wantPage(t, h.serve(r), http.StatusOK, "--hub https://hub.example.com:8443/ --id r-new-2 ")
	})
	refusals := []struct {
		name, runner, env string
		code              int
		msg               string
	}{
		{"a taken name", "build-01", "Staging", http.StatusConflict, "a runner with this name already exists"},
		{"a missing name", "  ", "Staging", http.StatusBadRequest, "name is required"},
		{"an unknown environment", "x-1", "Moon", http.StatusBadRequest, "environment must be one of"},
		{"one runner more than the license allows", "x-2", "Staging", http.StatusForbidden, "the license allows 5 runners"},
	}
	if n := h.fake.runnerCount(); n != maxRunners { // 3 canned + 2 registered above: the license is full
		t.Fatalf("%d runners before the refusals, want %d", n, maxRunners)
	}
	for _, tt := range refusals {
		t.Run(tt.name+" is refused inline with the form kept", func(t *testing.T) {
			w := h.post("/runners", adminToken, url.Values{"name": {tt.runner}, "environment": {tt.env}, "labels": {"a, b"}})
			wantPage(t, w, tt.code, `id="error" role="alert">`+tt.msg, `id="runners-table"`,
				`id="runners-register-labels" name="labels" value="a, b"`)
			wantNot(t, w, `id="runner-secret"`, runners.SecretPrefix)
			if tt.env == "Staging" {
				wantPage(t, w, tt.code, `<option value="Staging" selected>Staging</option>`)
			}
		})
	}
	for _, tok := range []string{devToken, opToken} {
		t.Run("a "+map[string]string{devToken: "developer", opToken: "operator"}[tok]+" gets the 403 page and registers nothing", func(t *testing.T) {
			before := h.fake.runnerCount()
			wantPage(t, h.post("/runners", tok, form("sneaky")), http.StatusForbidden, "needs the ADMIN role", `id="error-page"`)
			if h.fake.runnerCount() != before {
				t.Fatal("a runner was registered")
			}
		})
	}
}

func TestRunnerFormsNeedCSRF(t *testing.T) {
	h := newHub(t, true)
	forms := map[string]url.Values{
		"/runners":                {"name": {"forged"}, "environment": {"Staging"}},
		"/runners/r-1/regenerate": {"confirm": {"yes"}},
		"/runners/r-1/delete":     {},
	}
	for path, form := range forms {
		t.Run(path, func(t *testing.T) {
			for _, sent := range []string{"", "wrong"} {
				form.Set(websession.CSRFField, sent)
				r := request(http.MethodPost, path, form, adminToken)
				r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
				wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
			}
			h.fake.with(func(f *fakeHub) {
				if len(f.runners.items) != 3 || f.runners.registered != 0 || f.runners.regenerated != 0 {
					t.Fatalf("a forged form changed something: %d runners, %d registered, %d regenerated",
						len(f.runners.items), f.runners.registered, f.runners.regenerated)
				}
			})
		})
	}
}

func TestRegenerateSecret(t *testing.T) {
	h := newHub(t, true)
	regenerated := func() (n int) {
		h.fake.with(func(f *fakeHub) { n = f.runners.regenerated })
		return n
	}
	t.Run("a confirmation page comes first", func(t *testing.T) {
		wantPage(t, h.get("/runners/r-1/regenerate", adminToken), http.StatusOK, `id="runner-regenerate-name">build-01<`,
			"The old secret stops working at once", `action="/runners/r-1/regenerate" id="runner-regenerate-form"`,
			`name="confirm" value="yes"`, `id="runner-regenerate-confirm"`, `id="runner-regenerate-cancel"`)
		if regenerated() != 0 {
			t.Fatal("the confirmation page regenerated the secret")
		}
	})
	t.Run("a post that skipped the confirmation changes nothing", func(t *testing.T) {
		wantPage(t, h.post("/runners/r-1/regenerate", adminToken, nil), http.StatusBadRequest, `id="runner-regenerate-form"`,
			"Confirm on this page")
		if regenerated() != 0 {
			t.Fatal("regenerated without confirmation")
		}
	})
	t.Run("confirmed, the new secret is shown once", func(t *testing.T) {
		w := h.post("/runners/r-1/regenerate", adminToken, url.Values{"confirm": {"yes"}})
		const secret = "exk_ms_regenerated1Zq9"
		wantPage(t, w, http.StatusOK, `<title>New machine secret`, `id="runner-secret">`+secret+`<`, "The old secret has stopped working.",
			`id="runner-name">build-01<`, "--id r-1 --secret-file /etc/exekra-runner/secret")
		if strings.Count(w.Body.String(), secret) != 1 || regenerated() != 1 {
			t.Fatal("the secret is not shown exactly once, or was not regenerated exactly once")
		}
		wantNoSecret(t, w, secret)
	})
	t.Run("an unknown runner is a 404", func(t *testing.T) {
		wantPage(t, h.get("/runners/r-nobody/regenerate", adminToken), http.StatusNotFound, "no such runner")
		wantPage(t, h.post("/runners/r-nobody/regenerate", adminToken, url.Values{"confirm": {"yes"}}), http.StatusNotFound, "no such runner")
	})
	t.Run("a developer may neither confirm nor post", func(t *testing.T) {
		wantPage(t, h.get("/runners/r-1/regenerate", devToken), http.StatusForbidden, "needs the ADMIN role")
		wantPage(t, h.post("/runners/r-1/regenerate", devToken, url.Values{"confirm": {"yes"}}), http.StatusForbidden, "needs the ADMIN role")
		if regenerated() != 1 {
			t.Fatal("a developer regenerated a secret")
		}
	})
}

func TestDeleteRunner(t *testing.T) {
	h := newHub(t, true)
	t.Run("a developer is refused", func(t *testing.T) {
		wantPage(t, h.get("/runners/r-2/delete", devToken), http.StatusForbidden, "needs the ADMIN role")
		wantPage(t, h.post("/runners/r-2/delete", devToken, nil), http.StatusForbidden, "needs the ADMIN role")
	})
	t.Run("deleting asks first", func(t *testing.T) {
		wantPage(t, h.get("/runners/r-2/delete", adminToken), http.StatusOK, `id="runner-delete-name">win-02<`,
			"Its credentials stop working at once.", `action="/runners/r-2/delete" id="runner-delete-form"`, `id="runner-delete-confirm"`, `id="runner-delete-cancel"`)
		if h.fake.runnerCount() != 3 {
			t.Fatal("the confirmation page deleted")
		}
	})
	t.Run("the runner is deleted", func(t *testing.T) {
		wantRedirect(t, h.post("/runners/r-2/delete", adminToken, nil), "/runners?flash=runner_deleted")
		wantNot(t, h.get("/runners", adminToken), `id="runner-r-2"`)
		wantRedirect(t, h.post("/runners/r-2/delete", adminToken, nil), "/runners?flash=runner_deleted")
	})
	t.Run("an unknown runner's confirmation is a 404", func(t *testing.T) {
		wantPage(t, h.get("/runners/r-nobody/delete", adminToken), http.StatusNotFound, "no such runner")
	})
}

// TestSecretAnswersAreNotCached: the pages that show a machine secret and the
// answer that sets the session cookie must not be kept by a browser or proxy.
func TestSecretAnswersAreNotCached(t *testing.T) {
	h := newHub(t, true)
	answers := map[string]func() *httptest.ResponseRecorder{
		"runner registration": func() *httptest.ResponseRecorder {
			return h.post("/runners", adminToken, url.Values{"name": {"nocache-01"}, "environment": {"Staging"}})
		},
		"regenerated secret": func() *httptest.ResponseRecorder {
			return h.post("/runners/r-1/regenerate", adminToken, url.Values{"confirm": {"yes"}})
		},
		"sign-in": func() *httptest.ResponseRecorder {
			return h.post("/login", "", url.Values{"email": {adminUser.Email}, "password": {password}})
		},
	}
	for name, send := range answers {
		t.Run(name, func(t *testing.T) {
			w := send()
			if w.Code != http.StatusOK && w.Code != http.StatusSeeOther {
				t.Fatalf("status %d; body %.300s", w.Code, w.Body.String())
			}
			if cc, p := w.Header().Get("Cache-Control"), w.Header().Get("Pragma"); cc != "no-store" || p != "no-cache" {
				t.Fatalf("Cache-Control %q, Pragma %q; want no-store, no-cache", cc, p)
			}
		})
	}
}
