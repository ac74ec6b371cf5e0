package job

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestCheckParameters(t *testing.T) {
	decl := []runners.Parameter{
		{Name: "who", Type: "string", Required: true},
		{Name: "retries", Type: "integer", Default: json.RawMessage(`3`)},
		{Name: "ratio", Type: "number", Default: json.RawMessage(` 0.5 `)},
		{Name: "dry_run", Type: "boolean"},
		{Name: "mode", Type: "string", Enum: []json.RawMessage{json.RawMessage(`"fast"`), json.RawMessage(`"slow"`)}},
	}
	tests := []struct {
		name   string
		decl   []runners.Parameter
		params string
		want   string // the parameters kept, or the refusal's message
		refuse bool
	}{
		{"undeclared: anything goes", nil, `{"x": [1], "y": null}`, `{"x": [1], "y": null}`, false},
		{"declares none: empty is fine", []runners.Parameter{}, `{}`, `{}`, false},
		{"declares none: a parameter is unknown", []runners.Parameter{}, `{"x":1}`, `parameter "x": the package declares no such parameter (it takes none)`, true},
		{"defaults filled after the values sent", decl, `{"who": "world"}`, `{"who": "world","retries":3,"ratio":0.5}`, false},
		{"every value given: kept as sent", decl,
			`{"who":"w","retries":5.0,"ratio":1,"dry_run":true,"mode":"slow"}`, `{"who":"w","retries":5.0,"ratio":1,"dry_run":true,"mode":"slow"}`, false},
		{"a nested object before the defaults", []runners.Parameter{{Name: "n", Type: "integer", Default: json.RawMessage(`1`)}, {Name: "s", Type: "string"}},
			`{"s":"}"}`, `{"s":"}","n":1}`, false},
		{"only defaults", []runners.Parameter{{Name: "n", Type: "integer", Default: json.RawMessage(`1`)}}, `{}`, `{"n":1}`, false},
		{"required missing", decl, `{"retries": 1}`, `parameter "who": required, and missing`, true},
		{"unknown name", decl, `{"who":"w","colour":"red"}`, `parameter "colour": the package declares no such parameter (it takes who, retries, ratio, dry_run, mode)`, true},
		{"names are exact", decl, `{"WHO":"w"}`, `parameter "WHO": the package declares no such parameter`, true},
		{"string of another type", decl, `{"who":1}`, `parameter "who": must be a string`, true},
		{"integer with a fraction", decl, `{"who":"w","retries":1.5}`, `parameter "retries": must be an integer`, true},
		{"integer as a string", decl, `{"who":"w","retries":"1"}`, `parameter "retries": must be an integer`, true},
		{"number as a string", decl, `{"who":"w","ratio":"0.1"}`, `parameter "ratio": must be a number`, true},
		{"boolean as a string", decl, `{"who":"w","dry_run":"yes"}`, `parameter "dry_run": must be a boolean`, true},
		{"null is of no type", decl, `{"who":"w","dry_run":null}`, `parameter "dry_run": must be a boolean`, true},
		{"outside the enum", decl, `{"who":"w","mode":"medium"}`, `parameter "mode": must be one of "fast", "slow"`, true},
		{"a name given twice", decl, `{"who":"w","who":1}`, `parameter "who": given twice`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkParameters(tc.decl, json.RawMessage(tc.params))
			if tc.refuse {
				_, msg := errs.Public(err)
				if !errs.Is(err, errs.InvalidArgument) || !strings.HasPrefix(msg, tc.want) {
					t.Fatalf("got %v, want invalid_argument starting %q", err, tc.want)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("%s is not JSON", got)
			}
		})
	}
}

func TestCheckParametersKeepsTheLimit(t *testing.T) {
	decl := []runners.Parameter{{Name: "big", Type: "string", Default: json.RawMessage(`"` + strings.Repeat("b", 4000) + `"`)},
		{Name: "s", Type: "string"}}
	params := `{"s":"` + strings.Repeat("s", MaxParametersBytes-10) + `"}`
	_, err := checkParameters(decl, json.RawMessage(params))
	if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.Contains(msg, "with the package's defaults filled in exceed") {
		t.Fatalf("got %v", err)
	}
}
