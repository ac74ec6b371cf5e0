package agent

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
)

func TestMasker(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		line   string
		want   string
	}{
		{"a value twice", []string{"sk-1"}, "key sk-1 and again sk-1.", "key *** and again ***."},
		{"overlapping values hide both wholly", []string{"abcdef", "defgh"}, "xabcdefghy", "x***y"},
		{"a value inside a longer one", []string{"pass", "password"}, "my password is pass", "my *** is ***"},
		{"adjacent repeats become one mask", []string{"sk-1"}, "sk-1sk-1 end", "*** end"},
		{"a value overlapping itself", []string{"aba"}, "xababay", "x***y"},
		{"nothing to mask", []string{"secret"}, "a plain line", "a plain line"},
		{"empty values are no values", []string{""}, "a line", "a line"},
		{"each line of a value of several lines", []string{"first\nsecond"}, "got second", "got ***"},
		{"the value as it is inside a JSON string", []string{`p"w\x`}, `{"p":"p\"w\\x"}`, `{"p":"***"}`},
		{"non-ASCII", []string{"pässwörd"}, "» pässwörd «", "» *** «"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newMasker(tc.values).apply(tc.line); got != tc.want {
				t.Fatalf("apply(%q) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
	var none *masker
	if got := none.apply("sk-1"); got != "sk-1" {
		t.Fatalf("nil masker: %q", got)
	}
}

func TestBuildJobAssets(t *testing.T) {
	items := []runners.AgentAsset{
		{Name: "sap_login", Type: runners.AssetCredential, Scope: runners.ScopeEnvironment, Value: json.RawMessage(`{"username":"robot1","password":"pw-9"}`)},
		{Name: "api_key", Type: runners.AssetSecret, Scope: runners.ScopeGlobal, Value: json.RawMessage(`"sk-live"`)},
		{Name: "Greeting", Type: runners.AssetText, Scope: runners.ScopeRunner, Value: json.RawMessage(`"hello"`)},
		{Name: "retries", Type: runners.AssetInteger, Scope: runners.ScopeGlobal, Value: json.RawMessage(`3`)},
		{Name: "verbose", Type: runners.AssetBoolean, Scope: runners.ScopeGlobal, Value: json.RawMessage(` true `)},
	}
	ja, err := buildJobAssets([]string{"sap_login", "API_KEY", "greeting", "retries", "verbose"}, items)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := []string{"EXEKRA_ASSET_SAP_LOGIN_PASSWORD=pw-9", "EXEKRA_ASSET_SAP_LOGIN_USERNAME=robot1",
		"EXEKRA_ASSET_API_KEY=sk-live", "EXEKRA_ASSET_GREETING=hello", "EXEKRA_ASSET_RETRIES=3", "EXEKRA_ASSET_VERBOSE=true"}
	if !slices.Equal(ja.env, wantEnv) {
		t.Errorf("env %q, want %q", ja.env, wantEnv)
	}
	var file map[string]any
	if err := json.Unmarshal(ja.file, &file); err != nil {
		t.Fatal(err)
	}
	if c, _ := file["sap_login"].(map[string]any); c["username"] != "robot1" || c["password"] != "pw-9" ||
		file["api_key"] != "sk-live" || file["Greeting"] != "hello" || file["retries"] != float64(3) || file["verbose"] != true {
		t.Errorf("file %s", ja.file)
	}
	// Credentials, secrets and text are masked; integers and booleans are not.
	if got := ja.mask.apply("robot1 pw-9 sk-live hello 3 true"); got != "*** *** *** *** 3 true" {
		t.Errorf("masked %q", got)
	}

	t.Run("a declared asset the Hub did not hand out", func(t *testing.T) {
		_, err := buildJobAssets([]string{"api_key", "other"}, items[1:2])
		if err == nil || !strings.Contains(err.Error(), "asset other") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a value not of its type is named, not shown", func(t *testing.T) {
		_, err := buildJobAssets(nil, []runners.AgentAsset{{Name: "api_key", Type: runners.AssetSecret, Value: json.RawMessage(`{"sk-LEAK":1}`)}})
		if err == nil || !strings.Contains(err.Error(), "api_key") || strings.Contains(err.Error(), "LEAK") {
			t.Fatalf("%v", err)
		}
	})
}
