package pkgstore_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
)

func TestValidateAssets(t *testing.T) {
	many := make([]string, runners.MaxAssetsDeclared+1)
	for i := range many {
		many[i] = fmt.Sprintf("a%d", i)
	}
	tests := []struct {
		name   string
		assets []string
		want   string // "" : accepted; else a part of the message
	}{
		{"none declared", nil, ""},
		{"declares none", []string{}, ""},
		{"identifiers", []string{"db_login", "_token", "Retries2"}, ""},
		{"the most allowed", many[:runners.MaxAssetsDeclared], ""},
		{"longest name", []string{strings.Repeat("a", runners.MaxAssetNameLen)}, ""},
		{"empty name", []string{""}, `asset 1 (""): name must be 1 to 64`},
		{"name too long", []string{strings.Repeat("a", runners.MaxAssetNameLen+1)}, "name must be 1 to 64"},
		{"name with a dash", []string{"ok", "db-login"}, `asset 2 ("db-login"): name must be an identifier`},
		{"name starting with a digit", []string{"1st"}, `asset 1 ("1st"): name must be an identifier`},
		{"name with a space", []string{"db login"}, "name must be an identifier"},
		{"declared twice", []string{"token", "token"}, `asset "token": declared twice`},
		{"names differing only in case", []string{"token", "TOKEN"}, `asset "TOKEN": declared twice (as "token" too`},
		{"too many", many, "at most 100 are allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pkgstore.ValidateAssets(tc.assets)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errs.Is(err, errs.InvalidArgument) || !strings.Contains(message(err), tc.want) {
				t.Fatalf("got %v, want invalid_argument with %q", err, tc.want)
			}
		})
	}
}

func TestManifestAssets(t *testing.T) {
	tests := []struct {
		name, manifest string
		assets         []string
		want           string // "" : accepted
	}{
		{"without assets", goodManifest, nil, ""},
		{"with assets", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"assets":["db_login","api_token"]}`, []string{"db_login", "api_token"}, ""},
		{"assets not an array", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"assets":"db_login"}`, nil, `"assets" must be an array of asset names`},
		{"an asset not a string", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"assets":["db_login",3]}`, nil, `"assets" must be an array of asset names`},
		{"a bad name", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"assets":["db.login"]}`, nil, `asset 1 ("db.login"): name must be an identifier`},
		{"a name twice", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"assets":["Token","token"]}`, nil, `declared twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := makeZip(t, entry{name: "exekra.json", body: tc.manifest})
			m, err := pkgstore.ValidateZip(bytes.NewReader(z), int64(len(z)), pkgstore.Limits{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !slices.Equal(m.Assets, tc.assets) {
					t.Fatalf("assets %q, want %q", m.Assets, tc.assets)
				}
				return
			}
			if !errs.Is(err, errs.InvalidArgument) || !strings.Contains(message(err), tc.want) {
				t.Fatalf("got %v, want invalid_argument with %q", err, tc.want)
			}
		})
	}
}
