package console

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// assetSamples are the samples (see samples) of the asset pages.
func assetSamples(at time.Time) map[string]struct {
	data any
	ids  []string
} {
	runner := "build-01"
	a := runners.Asset{ID: "a1", Name: "DB_LOGIN", Type: runners.AssetCredential, WriteOnly: true, Description: "the database", CreatedAt: at, UpdatedAt: at,
		Values: []runners.AssetValue{{Scope: runners.ScopeGlobal, Value: json.RawMessage(`null`), Version: 1, UpdatedAt: at},
			{Scope: runners.ScopeRunner, RunnerID: "r1", RunnerName: &runner, Value: json.RawMessage(`null`), Version: 2, UpdatedAt: at}}}
	rows := []assetValueRow{{AssetValue: a.Values[0], Key: "global", Label: "global", Shown: writeOnlyText},
		{AssetValue: a.Values[1], Key: "runner-r1", Label: "runner build-01", Shown: writeOnlyText}}
	forms := valueForms(names{runners: map[string]runners.Runner{"r1": {ID: "r1", Name: "build-01", Environment: runners.EnvStaging}}})
	return map[string]struct {
		data any
		ids  []string
	}{
		"assets": {assetsData{Rows: []assetRow{{Asset: a, Scopes: "global"}}, Type: runners.AssetCredential, Types: runners.AssetTypes,
			Next: "/assets?cursor=x", First: "/assets", CanCreate: true, Form: assetForm{Name: "x y", Type: runners.AssetText, Invalid: "name"}},
			[]string{"assets-filter", "assets-filter-type", "assets-filter-submit", "assets-filter-clear", "assets-table", "asset-DB_LOGIN",
				"assets-next", "assets-first", "assets-create-card", "asset-create-form", "asset-create-name", "asset-create-type",
				"asset-create-description", "asset-create-submit"}},
		"asset": {assetData{Asset: a, Values: rows, Forms: forms, Description: a.Description, CanAuthor: true},
			[]string{"asset", "asset-type", "asset-description", "asset-created-at", "asset-updated-at", "asset-values", "asset-value-global",
				"asset-value-runner-r1", "asset-delete", "asset-value-delete-global", "asset-value-delete-runner-r1", "asset-description-form",
				"asset-description-input", "asset-description-submit", "asset-value-global-form", "asset-value-global-username",
				"asset-value-global-password", "asset-value-global-submit", "asset-value-environment-form", "asset-value-environment-select",
				"asset-value-environment-username", "asset-value-environment-submit", "asset-value-runner-form", "asset-value-runner-select",
				"asset-value-runner-password", "asset-value-runner-submit", "asset-back"}},
		"asset_delete": {a, []string{"asset-delete-name", "asset-delete-form", "asset-delete-submit", "asset-delete-cancel"}},
	}
}

func TestShownValue(t *testing.T) {
	for raw, want := range map[string]string{`"a \"b\""`: `a "b"`, `42`: "42", `true`: "true"} {
		if got := shownValue(json.RawMessage(raw)); got != want {
			t.Errorf("shownValue(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestAssetField(t *testing.T) {
	for msg, want := range map[string]string{
		"name must be 1 to 64 letters":                 "name",
		"type must be one of text, integer":            "type",
		"description must be at most 1000 characters":  "description",
		`an asset named "X" already exists`:            "name",
		"the runners service is unavailable right now": "",
	} {
		if got := assetField(msg); got != want {
			t.Errorf("assetField(%q) = %q, want %q", msg, got, want)
		}
	}
}
