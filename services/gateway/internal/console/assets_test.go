package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
)

func TestAssetsList(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("an operator sees every asset with the scopes that have a value, and no form", func(t *testing.T) {
		w := h.get("/assets", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-assets" href="/assets" aria-current="page"`, `id="assets-table"`,
			`id="asset-API_URL" data-name="API_URL" data-type="text"`, `<a href="/assets/API_URL">API_URL</a>`,
			`class="asset-description">where the API is<`, `class="asset-scopes">global, Production<`,
			`class="asset-scopes">runner build-01<`, `id="asset-RETRIES"`, `class="asset-scopes">—<`,
			`href="/assets?cursor=more" id="assets-next"`, `id="assets-filter-type"`)
		wantNot(t, w, `id="asset-create-form"`, "https://api.example.com")
	})
	t.Run("the type filter reaches the service and stays selected", func(t *testing.T) {
		w := h.get("/assets?type=credential&cursor=abc", opToken)
		wantPage(t, w, http.StatusOK, `<option value="credential" selected>`, `id="asset-DB_LOGIN"`, `href="/assets?type=credential" id="assets-first"`,
			`id="assets-filter-clear"`)
		wantNot(t, w, `id="asset-API_URL"`)
		h.fake.with(func(f *fakeHub) {
			if r := f.assets.lastList; r.Type != "credential" || r.Cursor != "abc" || r.Limit != 50 {
				t.Fatalf("list request = %+v", r)
			}
		})
	})
	t.Run("an unknown type is the page's error, not a failure", func(t *testing.T) {
		wantPage(t, h.get("/assets?type=colour", opToken), http.StatusBadRequest, `id="error" role="alert">type must be one of`)
	})
	t.Run("an operator may not create", func(t *testing.T) {
		wantPage(t, h.post("/assets", opToken, url.Values{"name": {"X"}, "type": {"text"}}), http.StatusForbidden)
		h.fake.with(func(f *fakeHub) {
			if f.assets.lastCreate != nil {
				t.Fatal("the service was asked")
			}
		})
	})
	t.Run("anonymous visitors are sent to sign in", func(t *testing.T) {
		wantRedirect(t, h.get("/assets", ""), "/login?next=%2Fassets")
	})
}

func TestCreateAsset(t *testing.T) {
	h := newHub(t, true)
	t.Run("a developer gets the form", func(t *testing.T) {
		wantPage(t, h.get("/assets", devToken), http.StatusOK, `action="/assets" id="asset-create-form"`, `id="asset-create-name" name="name"`,
			`<select id="asset-create-type" name="type">`, `<option value="text" selected>text</option>`, `id="asset-create-description"`,
			`id="asset-create-submit"`)
	})
	t.Run("the form creates the asset and opens it", func(t *testing.T) {
		w := h.post("/assets", devToken, url.Values{"name": {" SMTP_LOGIN "}, "type": {"credential"}, "description": {"mail relay"}})
		wantRedirect(t, w, "/assets/SMTP_LOGIN?flash=asset_created")
		h.fake.with(func(f *fakeHub) {
			r := f.assets.lastCreate
			if r == nil || r.Name != "SMTP_LOGIN" || r.Type != runners.AssetCredential || r.Description != "mail relay" || r.Value != nil {
				t.Fatalf("create request = %+v", r)
			}
		})
		wantPage(t, h.get(w.Header().Get("Location"), devToken), http.StatusOK, `id="flash"`, "Asset created", `id="asset-values-none"`)
	})
	t.Run("a refusal keeps what was typed and marks the field", func(t *testing.T) {
		w := h.post("/assets", devToken, url.Values{"name": {"API_URL"}, "type": {"integer"}, "description": {"again"}})
		wantPage(t, w, http.StatusConflict, `id="error" role="alert">an asset named &#34;API_URL&#34; already exists`,
			`id="asset-create-name" name="name" value="API_URL"`, `aria-invalid="true"`, `<option value="integer" selected>`, `value="again"`,
			`id="assets-table"`)
	})
}

func TestAssetPage(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("an operator sees the values of a text asset and no form", func(t *testing.T) {
		w := h.get("/assets/API_URL", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-assets" href="/assets" aria-current="page"`, `id="asset" data-name="API_URL" data-type="text"`,
			`id="asset-description">where the API is<`, `id="asset-value-global" data-scope="global"`,
			`<code>https://api.example.com</code>`, `id="asset-value-environment-Production" data-scope="environment"`,
			`class="asset-value-scope">Production<`, `<code>https://prod.example.com</code>`, `class="asset-value-version num">2<`,
			`class="asset-value-updated-by">u-dev<`)
		wantNot(t, w, `<form method="post"`+` action="/assets`, `id="asset-delete"`, `id="asset-value-delete-global"`)
	})
	t.Run("a credential's values are write-only", func(t *testing.T) {
		w := h.get("/assets/DB_LOGIN", devToken)
		wantPage(t, w, http.StatusOK, `id="asset-value-runner-r-1"`, `class="asset-value-scope">runner build-01<`,
			`<span class="muted">write-only</span>`)
	})
	t.Run("a developer gets the forms, with inputs of the asset's type", func(t *testing.T) {
		w := h.get("/assets/DB_LOGIN", devToken)
		wantPage(t, w, http.StatusOK, `href="/assets/DB_LOGIN/delete" id="asset-delete"`, `action="/assets/DB_LOGIN" id="asset-description-form"`,
			`id="asset-description-submit"`, `action="/assets/DB_LOGIN/values" id="asset-value-global-form"`,
			`id="asset-value-global-username" name="username"`, `type="password" id="asset-value-global-password" name="password" required autocomplete="new-password"`,
			`id="asset-value-environment-form"`, `<select id="asset-value-environment-select" name="environment"><option value="Development">`,
			`id="asset-value-runner-form"`, `<select id="asset-value-runner-select" name="runner_id"><option value="r-1">build-01 (Production)</option><option value="r-3">busy-03 (Staging)</option>`,
			`id="asset-value-runner-submit"`, `action="/assets/DB_LOGIN/values/delete" id="asset-value-delete-form-runner-r-1"`,
			`<input type="hidden" name="runner_id" value="r-1">`, `id="asset-value-delete-runner-r-1"`)
		wantUniqueIDs(t, w.Body.String())
		for name, input := range map[string]string{
			"API_URL": `<input type="text" id="asset-value-global-value" name="value"`,
			"RETRIES": `<input type="number" id="asset-value-global-value" name="value"`,
			"VERBOSE": `<select id="asset-value-global-value" name="value"><option value="true">true</option><option value="false">false</option>`,
			"TOKEN":   `<input type="password" id="asset-value-global-value" name="value" required autocomplete="new-password">`,
		} {
			w := h.get("/assets/"+name, devToken)
			wantPage(t, w, http.StatusOK, input)
			wantUniqueIDs(t, w.Body.String())
		}
	})
	t.Run("an unknown asset is a 404 page", func(t *testing.T) {
		wantPage(t, h.get("/assets/NOPE", opToken), http.StatusNotFound, "no asset is named")
	})
}

// wantUniqueIDs fails when an id appears twice in body.
func wantUniqueIDs(t *testing.T, body string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if seen[m[1]] {
			t.Errorf("id %q appears twice", m[1])
		}
		seen[m[1]] = true
	}
}

func TestSetAssetValue(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	set := func(asset string, form url.Values) *runners.SetAssetValueRequest {
		t.Helper()
		wantRedirect(t, h.post("/assets/"+asset+"/values", devToken, form), "/assets/"+asset+"?flash=asset_value_set")
		var r *runners.SetAssetValueRequest
		h.fake.with(func(f *fakeHub) { r = f.assets.lastSet })
		return r
	}
	t.Run("each type is sent as JSON of its type, to the scope named", func(t *testing.T) {
		for _, tt := range []struct {
			asset string
			form  url.Values
			scope runners.AssetValueRequest
			want  string
		}{
			{"API_URL", url.Values{"scope": {"global"}, "value": {"https://new.example.com"}},
				runners.AssetValueRequest{Name: "API_URL", Scope: "global"}, `"https://new.example.com"`},
			{"RETRIES", url.Values{"scope": {"environment"}, "environment": {"Staging"}, "value": {" 42 "}, "runner_id": {"r-1"}},
				runners.AssetValueRequest{Name: "RETRIES", Scope: "environment", Environment: "Staging"}, `42`},
			{"VERBOSE", url.Values{"scope": {"runner"}, "runner_id": {"r-1"}, "value": {"false"}},
				runners.AssetValueRequest{Name: "VERBOSE", Scope: "runner", RunnerID: "r-1"}, `false`},
			{"TOKEN", url.Values{"scope": {"global"}, "value": {"s3cr3t-token"}},
				runners.AssetValueRequest{Name: "TOKEN", Scope: "global"}, `"s3cr3t-token"`},
			{"DB_LOGIN", url.Values{"scope": {"global"}, "username": {"app"}, "password": {"hunter2-pw"}},
				runners.AssetValueRequest{Name: "DB_LOGIN", Scope: "global"}, `{"username":"app","password":"hunter2-pw"}`},
		} {
			r := set(tt.asset, tt.form)
			if r == nil || r.AssetValueRequest != tt.scope || string(r.Value) != tt.want {
				t.Errorf("%s: set request = %+v (%s), want %+v (%s)", tt.asset, r, r.Value, tt.scope, tt.want)
			}
		}
	})
	t.Run("the page shows a text value set and never a secret one", func(t *testing.T) {
		wantPage(t, h.get("/assets/RETRIES?flash=asset_value_set", devToken), http.StatusOK, `id="flash"`, "Value saved.",
			`id="asset-value-environment-Staging"`, `<code>42</code>`)
		for _, name := range []string{"TOKEN", "DB_LOGIN"} {
			w := h.get("/assets/"+name, devToken)
			wantPage(t, w, http.StatusOK, `id="asset-value-global"`, "write-only")
			wantNot(t, w, "s3cr3t-token", "hunter2-pw")
		}
	})
	t.Run("a value the console cannot read is refused before the service is asked", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.assets.lastSet = nil })
		wantPage(t, h.post("/assets/RETRIES/values", devToken, url.Values{"scope": {"global"}, "value": {"4.5"}}), http.StatusBadRequest,
			`id="error" role="alert">an integer value must be a whole number`, `id="asset" data-name="RETRIES"`)
		wantPage(t, h.post("/assets/VERBOSE/values", devToken, url.Values{"scope": {"global"}, "value": {"maybe"}}), http.StatusBadRequest,
			"a boolean value must be true or false")
		h.fake.with(func(f *fakeHub) {
			if f.assets.lastSet != nil {
				t.Fatalf("the service was asked: %+v", f.assets.lastSet)
			}
		})
	})
	t.Run("the service's refusal shows on the page without the secret posted", func(t *testing.T) {
		w := h.post("/assets/DB_LOGIN/values", devToken, url.Values{"scope": {"global"}, "username": {""}, "password": {"leaky-pw"}})
		wantPage(t, w, http.StatusBadRequest, `id="error" role="alert">the value is not one of a credential asset`, `id="asset" data-name="DB_LOGIN"`)
		wantNot(t, w, "leaky-pw")
		w = h.post("/assets/TOKEN/values", devToken, url.Values{"scope": {"environment"}, "environment": {"Mars"}, "value": {"leaky-token"}})
		wantPage(t, w, http.StatusBadRequest, "environment must be one of")
		wantNot(t, w, "leaky-token")
		if loc := w.Header().Get("Location"); loc != "" {
			t.Fatalf("redirected to %q", loc)
		}
	})
	t.Run("an operator may not set or delete a value", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.assets.lastSet, f.assets.lastUnset = nil, nil })
		wantPage(t, h.post("/assets/API_URL/values", opToken, url.Values{"scope": {"global"}, "value": {"x"}}), http.StatusForbidden)
		wantPage(t, h.post("/assets/API_URL/values/delete", opToken, url.Values{"scope": {"global"}}), http.StatusForbidden)
		h.fake.with(func(f *fakeHub) {
			if f.assets.lastSet != nil || f.assets.lastUnset != nil {
				t.Fatal("the service was asked")
			}
		})
	})
	t.Run("a developer deletes one scope's value", func(t *testing.T) {
		wantRedirect(t, h.post("/assets/API_URL/values/delete", devToken, url.Values{"scope": {"environment"}, "environment": {"Production"}}),
			"/assets/API_URL?flash=asset_value_deleted")
		h.fake.with(func(f *fakeHub) {
			want := runners.AssetValueRequest{Name: "API_URL", Scope: "environment", Environment: "Production"}
			if r := f.assets.lastUnset; r == nil || *r != want {
				t.Fatalf("delete request = %+v", r)
			}
		})
		w := h.get("/assets/API_URL", devToken)
		wantNot(t, w, `id="asset-value-environment-Production"`)
		wantPage(t, h.post("/assets/API_URL/values/delete", devToken, url.Values{"scope": {"environment"}, "environment": {"Production"}}),
			http.StatusNotFound, `id="error" role="alert">no such value<`, `id="asset" data-name="API_URL"`)
	})
}

func TestUpdateAndDeleteAsset(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("the description is saved", func(t *testing.T) {
		wantRedirect(t, h.post("/assets/API_URL", devToken, url.Values{"description": {" the new API "}}), "/assets/API_URL?flash=asset_updated")
		h.fake.with(func(f *fakeHub) {
			if r := f.assets.lastUpdate; r == nil || r.Name != "API_URL" || r.Description == nil || *r.Description != "the new API" {
				t.Fatalf("update request = %+v", r)
			}
		})
		w := h.post("/assets/API_URL", devToken, url.Values{"description": {strings.Repeat("x", 30)}})
		wantPage(t, w, http.StatusBadRequest, "description must be at most", `value="`+strings.Repeat("x", 30)+`"`)
		wantPage(t, h.post("/assets/API_URL", opToken, url.Values{"description": {"x"}}), http.StatusForbidden)
	})
	t.Run("deleting asks first, then goes back to the list", func(t *testing.T) {
		wantPage(t, h.get("/assets/TOKEN/delete", opToken), http.StatusForbidden)
		wantPage(t, h.get("/assets/TOKEN/delete", devToken), http.StatusOK, `id="asset-delete-name">TOKEN<`,
			`action="/assets/TOKEN/delete" id="asset-delete-form"`, `id="asset-delete-submit"`, `href="/assets/TOKEN" id="asset-delete-cancel"`)
		wantPage(t, h.post("/assets/TOKEN/delete", opToken, nil), http.StatusForbidden)
		wantRedirect(t, h.post("/assets/TOKEN/delete", devToken, nil), "/assets?flash=asset_deleted")
		h.fake.with(func(f *fakeHub) {
			if f.findAsset("TOKEN") >= 0 {
				t.Fatal("not deleted")
			}
		})
		wantPage(t, h.get("/assets?flash=asset_deleted", devToken), http.StatusOK, "Asset deleted with all its values.")
	})
}

func TestPackageVersionsNameTheirAssets(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	wantNot(t, h.get("/packages/hello", opToken), `class="package-assets"`)
	h.fake.with(func(f *fakeHub) { f.jobs.packages[0].Assets = []string{"API_URL", "DB_LOGIN"} })
	w := h.get("/packages/hello", opToken)
	wantPage(t, w, http.StatusOK, `<th>Assets</th>`,
		`class="package-assets"><a href="/assets/API_URL">API_URL</a>, <a href="/assets/DB_LOGIN">DB_LOGIN</a></td>`,
		`class="package-assets"><span class="muted">none</span>`)
}
