package asset

import (
	"encoding/json"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestCheckValue(t *testing.T) {
	for _, tc := range []struct {
		typ, in, want string // want "" : refused
	}{
		{runners.AssetText, ` "a b" `, `"a b"`},
		{runners.AssetText, `""`, ""},
		{runners.AssetSecret, `"x"`, `"x"`},
		{runners.AssetSecret, `1`, ""},
		{runners.AssetInteger, `-42`, `-42`},
		{runners.AssetInteger, `9223372036854775807`, `9223372036854775807`},
		{runners.AssetInteger, `9223372036854775808`, ""},
		{runners.AssetInteger, `2.0`, ""},
		{runners.AssetInteger, `"2"`, ""},
		{runners.AssetBoolean, `true`, `true`},
		{runners.AssetBoolean, `0`, ""},
		{runners.AssetCredential, `{"password":"p","username":"u"}`, `{"username":"u","password":"p"}`},
		{runners.AssetCredential, `{"username":"u","password":"p","x":1}`, ""},
		{runners.AssetCredential, `{"username":"","password":"p"}`, ""},
		{runners.AssetText, `null`, ""},
	} {
		got, err := checkValue(tc.typ, json.RawMessage(tc.in))
		switch {
		case tc.want == "" && !errs.Is(err, errs.InvalidArgument):
			t.Errorf("%s %s: %s, %v; want invalid_argument", tc.typ, tc.in, got, err)
		case tc.want != "" && (err != nil || string(got) != tc.want):
			t.Errorf("%s %s: %s, %v; want %s", tc.typ, tc.in, got, err, tc.want)
		}
	}
}

func TestMostSpecific(t *testing.T) {
	r := Runner{ID: "0b8f6c1e-0000-4000-8000-000000000001", Environment: runners.EnvStaging}
	g := StoredValue{Scope: runners.ScopeGlobal, Version: 1}
	e := StoredValue{Scope: runners.ScopeEnvironment, ScopeKey: runners.EnvStaging, Version: 2}
	other := StoredValue{Scope: runners.ScopeEnvironment, ScopeKey: runners.EnvProduction, Version: 3}
	own := StoredValue{Scope: runners.ScopeRunner, ScopeKey: r.ID, Version: 4}
	for _, tc := range []struct {
		vs   []StoredValue
		want int // version; 0: none
	}{
		{[]StoredValue{g, e, own}, 4},
		{[]StoredValue{own, e, g}, 4},
		{[]StoredValue{g, other, e}, 2},
		{[]StoredValue{g, other}, 1},
		{[]StoredValue{other}, 0},
	} {
		v, ok := mostSpecific(tc.vs, r)
		if ok != (tc.want != 0) || v.Version != tc.want {
			t.Errorf("%+v: got %d, %v; want %d", tc.vs, v.Version, ok, tc.want)
		}
	}
}
