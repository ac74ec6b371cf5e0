package natsapi_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// Assets are created, read, listed by name (filtered by type), described,
// given values per scope (each write a new version) and deleted; every
// change is audited without its value.
func TestAssetsLifecycle(t *testing.T) {
	h := newAssetsHarness(t)
	a := h.mustAsset(t, "ApiUrl", runners.AssetText, `"https://api.example.test"`)
	if a.Name != "ApiUrl" || a.Type != runners.AssetText || a.WriteOnly || a.CreatedBy != developer.ID || len(a.Values) != 1 ||
		a.Values[0].Scope != runners.ScopeGlobal || string(a.Values[0].Value) != `"https://api.example.test"` || a.Values[0].Version != 1 {
		t.Fatalf("created %+v", a)
	}
	// Names are unique whatever their case; lookups ignore case too.
	_, err := h.createAsset(as(admin), "APIURL", runners.AssetText, "")
	wantKind(t, err, errs.Conflict)
	got := must[runners.Asset](t)(h.getAsset(as(operator), "apiurl"))
	if got.ID != a.ID {
		t.Fatalf("get by another case = %+v", got)
	}

	reg := h.register(t, "eu-1", runners.EnvStaging)
	h.mustSet(t, envScope("ApiUrl", "staging"), `"https://staging.example.test"`) // the environment in any case
	h.mustSet(t, runnerScope("ApiUrl", reg.Runner.ID), `"https://eu-1.example.test"`)
	a = h.mustSet(t, global("ApiUrl"), `"https://api2.example.test"`)
	if len(a.Values) != 3 {
		t.Fatalf("values %+v", a.Values)
	}
	g, e, r := a.Values[0], a.Values[1], a.Values[2]
	if g.Scope != runners.ScopeGlobal || string(g.Value) != `"https://api2.example.test"` || g.Version != 4 ||
		e.Scope != runners.ScopeEnvironment || e.Environment != runners.EnvStaging || e.Version != 2 ||
		r.Scope != runners.ScopeRunner || r.RunnerID != reg.Runner.ID || r.RunnerName == nil || *r.RunnerName != "eu-1" || r.Version != 3 {
		t.Fatalf("values in order global, environment, runner: %+v", a.Values)
	}

	desc := "where the robots post"
	a = must[runners.Asset](t)(call[runners.Asset](as(developer), h.harness, runners.SubjectAssetUpdate,
		runners.UpdateAssetRequest{Name: "apiurl", Description: &desc}))
	if a.Description != desc || a.Type != runners.AssetText {
		t.Fatalf("updated %+v", a)
	}

	h.mustAsset(t, "retries", runners.AssetInteger, `3`)
	h.mustAsset(t, "dry_run", runners.AssetBoolean, `false`)
	h.mustAsset(t, "Token", runners.AssetSecret, `"s3cr3t-token-value"`)
	page := must[runners.ListAssetsResponse](t)(call[runners.ListAssetsResponse](as(operator), h.harness, runners.SubjectAssetList,
		runners.ListAssetsRequest{Limit: 2}))
	if len(page.Items) != 2 || page.Items[0].Name != "ApiUrl" || page.Items[1].Name != "dry_run" || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	page = must[runners.ListAssetsResponse](t)(call[runners.ListAssetsResponse](as(operator), h.harness, runners.SubjectAssetList,
		runners.ListAssetsRequest{Limit: 2, Cursor: page.NextCursor}))
	if len(page.Items) != 2 || page.Items[0].Name != "retries" || page.Items[1].Name != "Token" || page.NextCursor != "" {
		t.Fatalf("second page %+v", page)
	}
	page = must[runners.ListAssetsResponse](t)(call[runners.ListAssetsResponse](as(operator), h.harness, runners.SubjectAssetList,
		runners.ListAssetsRequest{Type: runners.AssetInteger}))
	if len(page.Items) != 1 || page.Items[0].Name != "retries" || string(page.Items[0].Values[0].Value) != `3` {
		t.Fatalf("integers %+v", page)
	}

	a = must[runners.Asset](t)(call[runners.Asset](as(developer), h.harness, runners.SubjectAssetValueDelete, envScope("ApiUrl", runners.EnvStaging)))
	if len(a.Values) != 2 {
		t.Fatalf("after deleting a value %+v", a.Values)
	}
	_, err = call[runners.Asset](as(developer), h.harness, runners.SubjectAssetValueDelete, envScope("ApiUrl", runners.EnvStaging))
	wantKind(t, err, errs.NotFound)
	del := must[runners.AssetDeleted](t)(call[runners.AssetDeleted](as(developer), h.harness, runners.SubjectAssetDelete,
		runners.AssetRequest{Name: "apiurl"}))
	if !del.Deleted || del.Name != "ApiUrl" {
		t.Fatalf("deleted %+v", del)
	}
	_, err = h.getAsset(as(operator), "ApiUrl")
	wantKind(t, err, errs.NotFound)
	var left int
	if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM asset_values v JOIN assets a ON a.id = v.asset_id WHERE a.name = 'ApiUrl'").Scan(&left); err != nil || left != 0 {
		t.Fatalf("values left %d, %v", left, err)
	}

	var actions []string
	for _, ev := range h.events(t) {
		if !strings.HasPrefix(ev.Action, "asset.") {
			continue
		}
		actions = append(actions, ev.Action)
		for _, secret := range []string{"example.test", "s3cr3t-token-value"} {
			if strings.Contains(ev.Raw, secret) {
				t.Errorf("audit event %s holds a value: %s", ev.Action, ev.Raw)
			}
		}
		if ev.Actor.ID != developer.ID || ev.Target.Type != "asset" {
			t.Errorf("event %+v", ev.Event)
		}
	}
	want := []string{runners.ActionAssetCreate, runners.ActionAssetValueSet, runners.ActionAssetValueSet, runners.ActionAssetValueSet,
		runners.ActionAssetUpdate, runners.ActionAssetCreate, runners.ActionAssetCreate, runners.ActionAssetCreate,
		runners.ActionAssetValueDelete, runners.ActionAssetDelete}
	if !slices.Equal(actions, want) {
		t.Fatalf("audited %v, want %v", actions, want)
	}
	for _, ev := range h.events(t) {
		if ev.Action == runners.ActionAssetValueSet && ev.Details["scope"] == runners.ScopeRunner &&
			(ev.Details["runner_id"] != reg.Runner.ID || ev.Details["version"] != float64(3)) {
			t.Fatalf("value set event %+v", ev.Details)
		}
	}
}

// Bad input is refused with a 4xx kind and a message that never repeats a value.
func TestAssetValidation(t *testing.T) {
	h := newAssetsHarness(t)
	for _, tc := range []struct{ name, typ, value string }{
		{"1st", runners.AssetText, ""},
		{"has-dash", runners.AssetText, ""},
		{strings.Repeat("x", runners.MaxAssetNameLen+1), runners.AssetText, ""},
		{"ok", "password", ""},
		{"ok", runners.AssetText, `""`},
		{"ok", runners.AssetText, `42`},
		{"ok", runners.AssetSecret, `{"a":1}`},
		{"ok", runners.AssetInteger, `1.5`},
		{"ok", runners.AssetInteger, `1e3`},
		{"ok", runners.AssetInteger, `"7"`},
		{"ok", runners.AssetInteger, `99999999999999999999`},
		{"ok", runners.AssetBoolean, `"yes"`},
		{"ok", runners.AssetCredential, `{"username":"svc"}`},
		{"ok", runners.AssetCredential, `{"username":"svc","password":""}`},
		{"ok", runners.AssetCredential, `{"username":"svc","password":"pw-hidden-1","domain":"x"}`},
		{"ok", runners.AssetCredential, `["svc","pw"]`},
		{"ok", runners.AssetText, `"` + strings.Repeat("a", runners.MaxAssetValueBytes) + `"`},
	} {
		_, err := h.createAsset(as(developer), tc.name, tc.typ, tc.value)
		if !errs.Is(err, errs.InvalidArgument) {
			t.Fatalf("create %q %s %.40s: %v, want invalid_argument", tc.name, tc.typ, tc.value, err)
		}
		if strings.Contains(err.Error(), "pw-hidden-1") {
			t.Fatalf("the message repeats the value: %v", err)
		}
	}
	long := strings.Repeat("é", runners.MaxAssetDescription+1)
	_, err := call[runners.Asset](as(developer), h.harness, runners.SubjectAssetCreate,
		runners.CreateAssetRequest{Name: "d", Type: runners.AssetText, Description: long})
	wantKind(t, err, errs.InvalidArgument)

	h.mustAsset(t, "n", runners.AssetInteger, `-12`)
	for _, at := range []runners.AssetValueRequest{
		{Name: "n", Scope: "galaxy"},
		envScope("n", "Moon"),
		{Name: "n", Scope: runners.ScopeGlobal, Environment: runners.EnvStaging},
		runnerScope("n", "not-a-uuid"),
		runnerScope("n", "0b8f6c1e-0000-4000-8000-00000000dead"), // no such runner
	} {
		_, err := h.setValue(as(developer), at, `5`)
		wantKind(t, err, errs.InvalidArgument)
	}
	_, err = h.setValue(as(developer), global("n"), `5.5`)
	wantKind(t, err, errs.InvalidArgument)
	_, err = h.setValue(as(developer), global("missing"), `5`)
	wantKind(t, err, errs.NotFound)
	_, err = call[runners.ListAssetsResponse](as(operator), h.harness, runners.SubjectAssetList, runners.ListAssetsRequest{Limit: 501})
	wantKind(t, err, errs.InvalidArgument)
	_, err = call[runners.ListAssetsResponse](as(operator), h.harness, runners.SubjectAssetList, runners.ListAssetsRequest{Cursor: "junk"})
	wantKind(t, err, errs.InvalidArgument)
	_, err = call[runners.ListAssetsResponse](as(operator), h.harness, runners.SubjectAssetList, runners.ListAssetsRequest{Type: "x"})
	wantKind(t, err, errs.InvalidArgument)
	a := must[runners.Asset](t)(h.getAsset(as(operator), "n"))
	if len(a.Values) != 1 || string(a.Values[0].Value) != `-12` {
		t.Fatalf("refused writes changed the asset: %+v", a)
	}
}

// OPERATOR reads; only DEVELOPER and ADMIN write; someone not signed in
// does nothing.
func TestAssetRoles(t *testing.T) {
	h := newAssetsHarness(t)
	h.mustAsset(t, "host", runners.AssetText, `"db.internal"`)
	desc := "x"
	for _, op := range []struct {
		subject string
		req     any
	}{
		{runners.SubjectAssetCreate, runners.CreateAssetRequest{Name: "other", Type: runners.AssetText}},
		{runners.SubjectAssetValueSet, runners.SetAssetValueRequest{AssetValueRequest: global("host"), Value: json.RawMessage(`"evil"`)}},
		{runners.SubjectAssetValueDelete, global("host")},
		{runners.SubjectAssetUpdate, runners.UpdateAssetRequest{Name: "host", Description: &desc}},
		{runners.SubjectAssetDelete, runners.AssetRequest{Name: "host"}},
	} {
		_, err := call[json.RawMessage](as(operator), h.harness, op.subject, op.req)
		wantKind(t, err, errs.PermissionDenied)
	}
	_, err := h.getAsset(gateway(sourceIP), "host")
	wantKind(t, err, errs.PermissionDenied)
	_, err = h.getAsset(as(caller.Actor{Type: "runner", ID: "r"}), "host")
	wantKind(t, err, errs.PermissionDenied)
	a := must[runners.Asset](t)(h.getAsset(as(operator), "host"))
	if len(a.Values) != 1 || string(a.Values[0].Value) != `"db.internal"` {
		t.Fatalf("operator sees %+v", a)
	}
	must[runners.Asset](t)(h.setValue(as(admin), global("host"), `"db2.internal"`))
}

// Credential and secret values never come back to anyone, in any reply.
func TestWriteOnlyValuesAreNeverReturned(t *testing.T) {
	h := newAssetsHarness(t)
	const password, username, token = "Pa55-w0rd-never-shown", "svc-robot-user", "tok-never-shown-123"
	reg := h.register(t, "w-1", runners.EnvProduction)
	create := h.raw(t, as(admin), runners.SubjectAssetCreate, runners.CreateAssetRequest{Name: "erp", Type: runners.AssetCredential,
		Value: json.RawMessage(`{"username":"` + username + `","password":"` + password + `"}`)})
	set := h.raw(t, as(admin), runners.SubjectAssetValueSet, runners.SetAssetValueRequest{AssetValueRequest: runnerScope("erp", reg.Runner.ID),
		Value: json.RawMessage(`{"username":"` + username + `2","password":"` + password + `2"}`)})
	h.mustAsset(t, "api_token", runners.AssetSecret, `"`+token+`"`)
	replies := [][]byte{create, set,
		h.raw(t, as(admin), runners.SubjectAssetGet, runners.AssetRequest{Name: "erp"}),
		h.raw(t, as(admin), runners.SubjectAssetGet, runners.AssetRequest{Name: "api_token"}),
		h.raw(t, as(operator), runners.SubjectAssetList, runners.ListAssetsRequest{}),
		h.raw(t, as(developer), runners.SubjectAssetValueSet, runners.SetAssetValueRequest{AssetValueRequest: envScope("api_token", runners.EnvStaging),
			Value: json.RawMessage(`"` + token + `-staging"`)}),
	}
	for i, reply := range replies {
		for _, secret := range []string{password, username, token} {
			if bytes.Contains(reply, []byte(secret)) {
				t.Fatalf("reply %d holds a write-only value: %s", i, reply)
			}
		}
	}
	var list runners.ListAssetsResponse
	if err := json.Unmarshal(replies[4], &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("list %s: %v", replies[4], err)
	}
	for _, a := range list.Items {
		if !a.WriteOnly || len(a.Values) == 0 {
			t.Fatalf("asset %+v", a)
		}
		for _, v := range a.Values {
			if string(v.Value) != "null" || v.Version == 0 {
				t.Fatalf("a write-only value shows %s", v.Value)
			}
		}
	}
	// At rest: ciphertext only.
	rows, err := h.pool.Query(t.Context(), "SELECT wrapped_key || ciphertext FROM asset_values")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		n++
		if bytes.Contains(b, []byte(password)) || bytes.Contains(b, []byte(token)) {
			t.Fatal("a value is stored in the clear")
		}
	}
	if n != 4 {
		t.Fatalf("%d values stored", n)
	}
}

// A runner gets, of each declared asset, the most specific value it has:
// its own, else its environment's, else the global one.
func TestAssetMostSpecificWins(t *testing.T) {
	h := newAssetsHarness(t)
	a := h.register(t, "a", runners.EnvStaging)
	b := h.register(t, "b", runners.EnvStaging)
	c := h.register(t, "c", runners.EnvProduction)
	h.mustAsset(t, "url", runners.AssetText, `"global"`)
	h.mustSet(t, envScope("url", runners.EnvStaging), `"staging"`)
	h.mustSet(t, runnerScope("url", b.Runner.ID), `"runner-b"`)
	h.mustAsset(t, "login", runners.AssetCredential, `{"username":"u","password":"p"}`)
	h.mustSet(t, envScope("login", runners.EnvProduction), `{"username":"prod","password":"pp"}`)
	h.mustAsset(t, "unused", runners.AssetText, `"not declared"`)
	pkg := h.recordWithAssets(t, "post", "1.0.0", 1, "url", "LOGIN")
	if !slices.Equal(pkg.Assets, []string{"url", "LOGIN"}) {
		t.Fatalf("package assets %v", pkg.Assets)
	}
	read := must[runners.Package](t)(call[runners.Package](as(operator), h.harness, runners.SubjectPackageGet,
		runners.PackageRequest{Name: "post", Version: "1.0.0"}))
	if !slices.Equal(read.Assets, []string{"url", "LOGIN"}) {
		t.Fatalf("package read shows assets %v", read.Assets)
	}
	plain := h.record(t, "plain", "1.0.0", 2)
	versions := h.raw(t, as(operator), runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: "plain"})
	if !bytes.Contains(versions, []byte(`"assets":[]`)) {
		t.Fatalf("a package declaring none reads %s", versions)
	}
	if plain.Assets == nil || len(plain.Assets) != 0 {
		t.Fatalf("a package declaring none shows %v", plain.Assets)
	}
	for _, tc := range []struct {
		reg                 runners.Registered
		url, urlScope, user string
	}{
		{a, `"staging"`, runners.ScopeEnvironment, "u"},
		{b, `"runner-b"`, runners.ScopeRunner, "u"},
		{c, `"global"`, runners.ScopeGlobal, "prod"},
	} {
		j := h.create(t, runners.CreateJobRequest{Package: "post", Environment: tc.reg.Runner.Environment, RunnerID: tc.reg.Runner.ID})
		claimed := h.mustClaim(t, tc.reg)
		if claimed.ID != j.ID || !slices.Equal(claimed.Assets, []string{"url", "LOGIN"}) {
			t.Fatalf("claimed %+v", claimed)
		}
		got := must[runners.AgentAssets](t)(h.read(tc.reg, j.ID, claimed.Attempt))
		if len(got.Items) != 2 {
			t.Fatalf("%s got %+v", tc.reg.Runner.Name, got)
		}
		u, l := got.Items[0], got.Items[1]
		var cred runners.Credential
		if err := json.Unmarshal(l.Value, &cred); err != nil {
			t.Fatal(err)
		}
		if u.Name != "url" || string(u.Value) != tc.url || u.Scope != tc.urlScope || u.Type != runners.AssetText ||
			l.Name != "login" || l.Type != runners.AssetCredential || cred.Username != tc.user {
			t.Fatalf("%s got %+v / %s", tc.reg.Runner.Name, u, l.Value)
		}
	}
}
