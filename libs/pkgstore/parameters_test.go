package pkgstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestValidateParameters(t *testing.T) {
	str := func(name string) runners.Parameter { return runners.Parameter{Name: name, Type: runners.ParamString} }
	many := make([]runners.Parameter, runners.MaxParameters+1)
	for i := range many {
		many[i] = str(fmt.Sprintf("p%d", i))
	}
	tests := []struct {
		name string
		ps   []runners.Parameter
		want string // "" : accepted; else a part of the message
	}{
		{"none declared", nil, ""},
		{"declares it takes none", []runners.Parameter{}, ""},
		{"one of each type with defaults", []runners.Parameter{
			{Name: "who", Type: "string", Default: raw(`"world"`), Description: "whom to greet"},
			{Name: "retries", Type: "integer", Default: raw(`3`)},
			{Name: "ratio", Type: "number", Default: raw(`0.5`)},
			{Name: "dry_run", Type: "boolean", Default: raw(`false`)},
			{Name: "_target", Type: "string", Required: true},
		}, ""},
		{"whole number written with a fraction is an integer", []runners.Parameter{{Name: "n", Type: "integer", Default: raw(`2.0`)}}, ""},
		{"enum with a default among it", []runners.Parameter{{Name: "mode", Type: "string", Enum: []json.RawMessage{raw(`"fast"`), raw(`"slow"`)}, Default: raw(`"slow"`)}}, ""},
		{"empty name", []runners.Parameter{str("")}, `parameter 1 (""): name must be 1 to 64`},
		{"name with a dash", []runners.Parameter{str("dry-run")}, `parameter 1 ("dry-run"): name must be an identifier`},
		{"name starting with a digit", []runners.Parameter{str("who"), str("1st")}, `parameter 2 ("1st"): name must be an identifier`},
		{"name too long", []runners.Parameter{str(strings.Repeat("a", 65))}, "name must be 1 to 64"},
		{"name declared twice", []runners.Parameter{str("who"), str("who")}, `parameter "who": declared twice`},
		{"names differing only in case", []runners.Parameter{str("who"), str("WHO")}, `parameter "WHO": declared twice (as "who" too`},
		{"too many", many, "at most 100 are allowed"},
		{"unknown type", []runners.Parameter{{Name: "n", Type: "int"}}, `parameter "n": type must be one of string, integer, number, boolean`},
		{"no type", []runners.Parameter{{Name: "n"}}, `parameter "n": type must be one of`},
		{"string default not a string", []runners.Parameter{{Name: "who", Type: "string", Default: raw(`1`)}}, `parameter "who": default must be a string`},
		{"integer default with a fraction", []runners.Parameter{{Name: "retries", Type: "integer", Default: raw(`1.5`)}}, `parameter "retries": default must be an integer`},
		{"integer default a string", []runners.Parameter{{Name: "retries", Type: "integer", Default: raw(`"3"`)}}, `parameter "retries": default must be an integer`},
		{"number default a boolean", []runners.Parameter{{Name: "ratio", Type: "number", Default: raw(`true`)}}, `parameter "ratio": default must be a number`},
		{"boolean default a string", []runners.Parameter{{Name: "dry_run", Type: "boolean", Default: raw(`"false"`)}}, `parameter "dry_run": default must be a boolean`},
		{"null default", []runners.Parameter{{Name: "who", Type: "string", Default: raw(`null`)}}, `parameter "who": default must be a string`},
		{"required with a default", []runners.Parameter{{Name: "who", Type: "string", Required: true, Default: raw(`"x"`)}}, `parameter "who": a required parameter has no default`},
		{"description too long", []runners.Parameter{{Name: "who", Type: "string", Description: strings.Repeat("d", 1001)}}, `parameter "who": description must be at most 1000`},
		{"empty enum", []runners.Parameter{{Name: "m", Type: "string", Enum: []json.RawMessage{}}}, `parameter "m": enum must hold at least one value`},
		{"enum value of another type", []runners.Parameter{{Name: "m", Type: "integer", Enum: []json.RawMessage{raw(`1`), raw(`"2"`)}}}, `parameter "m": enum value "2": must be an integer`},
		{"enum value twice", []runners.Parameter{{Name: "m", Type: "integer", Enum: []json.RawMessage{raw(`1`), raw(`1.0`)}}}, `parameter "m": enum holds 1.0 twice`},
		{"default outside the enum", []runners.Parameter{{Name: "m", Type: "string", Enum: []json.RawMessage{raw(`"a"`)}, Default: raw(`"b"`)}}, `parameter "m": default must be one of the enum values`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pkgstore.ValidateParameters(tc.ps)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errs.Is(err, errs.InvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want invalid_argument with %q", err, tc.want)
			}
		})
	}
}

func TestCheckParamValue(t *testing.T) {
	enum := runners.Parameter{Name: "mode", Type: "string", Enum: []json.RawMessage{raw(`"fast"`), raw(`"slow"`)}}
	tests := []struct {
		typ, value string
		want       string // "" : accepted
	}{
		{"string", `"hello"`, ""},
		{"string", `""`, ""},
		{"string", `1`, "must be a string"},
		{"string", `null`, "must be a string"},
		{"string", `["a"]`, "must be a string"},
		{"integer", `42`, ""},
		{"integer", `-7`, ""},
		{"integer", `3.0`, ""},
		{"integer", `1e3`, ""},
		{"integer", `9223372036854775807`, ""},
		{"integer", `3.5`, "must be an integer"},
		{"integer", `"3"`, "must be an integer"},
		{"integer", `true`, "must be an integer"},
		{"integer", `1e300`, "must be an integer from -2^63 to 2^63-1"},
		{"integer", `1e999`, "must be an integer"},
		{"number", `0.25`, ""},
		{"number", `-1e10`, ""},
		{"number", `"0.25"`, "must be a number"},
		{"number", `1e999`, "must be a number within the range"},
		{"boolean", `true`, ""},
		{"boolean", `false`, ""},
		{"boolean", `"true"`, "must be a boolean"},
		{"boolean", `1`, "must be a boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.typ+" "+tc.value, func(t *testing.T) {
			err := pkgstore.CheckParamValue(runners.Parameter{Name: "p", Type: tc.typ}, raw(tc.value))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if err := pkgstore.CheckParamValue(enum, raw(`"slow"`)); err != nil {
		t.Fatalf("an allowed value: %v", err)
	}
	if err := pkgstore.CheckParamValue(enum, raw(`"medium"`)); err == nil || !strings.Contains(err.Error(), `must be one of "fast", "slow"`) {
		t.Fatalf("a value outside the enum: %v", err)
	}
}

func TestManifestParameters(t *testing.T) {
	tests := []struct {
		name, manifest string
		want           string // "" : accepted
	}{
		{"without parameters", goodManifest, ""},
		{"with parameters", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"parameters":[{"name":"retries","type":"integer","default":3}]}`, ""},
		{"parameters not an array", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"parameters":{"retries":"integer"}}`, `"parameters" must be an array`},
		{"required not a boolean", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"parameters":[{"name":"n","type":"string","required":"yes"}]}`, `"parameters" must be an array`},
		{"a bad declaration", `{"name":"etl","version":"1.0.0","entrypoint":["run"],"parameters":[{"name":"retries","type":"integer","default":"3"}]}`, `parameter "retries": default must be an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := makeZip(t, entry{name: "exekra.json", body: tc.manifest})
			m, err := pkgstore.ValidateZip(bytes.NewReader(z), int64(len(z)), pkgstore.Limits{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if strings.Contains(tc.manifest, "parameters") != (m.Parameters != nil) {
					t.Fatalf("parameters %v", m.Parameters)
				}
				return
			}
			if !errs.Is(err, errs.InvalidArgument) || !strings.Contains(message(err), tc.want) {
				t.Fatalf("got %v, want invalid_argument with %q", err, tc.want)
			}
		})
	}
}

func message(err error) string {
	_, msg := errs.Public(err)
	return msg
}
