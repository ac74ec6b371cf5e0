package pkgstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// ValidateParameters checks the parameters a manifest declares: at most
// runners.MaxParameters; each name an identifier ([A-Za-z_][A-Za-z0-9_]*,
// at most runners.MaxParamNameLen characters) unique regardless of case
// (names become EXEKRA_PARAM_<NAME> variables); a known type; a
// description of at most runners.MaxParamDescription characters; no
// default on a required parameter; a default and allowed values (enum, at
// most runners.MaxParamEnum, no repeats) of the parameter's type, the
// default among the allowed values. The error names the parameter and
// what is wrong.
func ValidateParameters(ps []runners.Parameter) error {
	if len(ps) > runners.MaxParameters {
		return errs.Ef(errs.InvalidArgument, `exekra.json: "parameters" declares %d parameters; at most %d are allowed`, len(ps), runners.MaxParameters)
	}
	seen := make(map[string]string, len(ps))
	for i, p := range ps {
		if err := validParamName(p.Name); err != nil {
			return errs.Ef(errs.InvalidArgument, `exekra.json: parameter %d (%q): %v`, i+1, clip(p.Name), err)
		}
		key := strings.ToUpper(p.Name)
		if prev, dup := seen[key]; dup {
			return errs.Ef(errs.InvalidArgument, `exekra.json: parameter %q: declared twice (as %q too; names are compared regardless of case)`, p.Name, prev)
		}
		seen[key] = p.Name
		if err := validParameter(p); err != nil {
			return errs.Ef(errs.InvalidArgument, `exekra.json: parameter %q: %v`, p.Name, err)
		}
	}
	return nil
}

func validParamName(name string) error {
	if name == "" || len(name) > runners.MaxParamNameLen {
		return fmt.Errorf("name must be 1 to %d characters", runners.MaxParamNameLen)
	}
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && !(i > 0 && r >= '0' && r <= '9') {
			return fmt.Errorf("name must be an identifier: a letter or _ then letters, digits and _")
		}
	}
	return nil
}

func validParameter(p runners.Parameter) error {
	if !slices.Contains(runners.ParamTypes, p.Type) {
		return fmt.Errorf("type must be one of %s", strings.Join(runners.ParamTypes, ", "))
	}
	if utf8.RuneCountInString(p.Description) > runners.MaxParamDescription || !utf8.ValidString(p.Description) {
		return fmt.Errorf("description must be at most %d characters of UTF-8", runners.MaxParamDescription)
	}
	if len(p.Enum) > runners.MaxParamEnum {
		return fmt.Errorf("enum holds at most %d values", runners.MaxParamEnum)
	}
	if p.Enum != nil && len(p.Enum) == 0 {
		return fmt.Errorf("enum must hold at least one value")
	}
	var allowed []string
	for _, v := range p.Enum {
		if len(v) > runners.MaxParamValueBytes {
			return fmt.Errorf("an enum value exceeds %d bytes", runners.MaxParamValueBytes)
		}
		if err := CheckParamType(p.Type, v); err != nil {
			return fmt.Errorf("enum value %s: %w", clip(string(v)), err)
		}
		c := canonical(v)
		if slices.Contains(allowed, c) {
			return fmt.Errorf("enum holds %s twice", clip(string(v)))
		}
		allowed = append(allowed, c)
	}
	if p.Default == nil {
		return nil
	}
	switch {
	case p.Required:
		return fmt.Errorf("a required parameter has no default (make it optional, or drop the default)")
	case len(p.Default) > runners.MaxParamValueBytes:
		return fmt.Errorf("default exceeds %d bytes", runners.MaxParamValueBytes)
	}
	if err := CheckParamType(p.Type, p.Default); err != nil {
		return fmt.Errorf("default %w", err)
	}
	if allowed != nil && !slices.Contains(allowed, canonical(p.Default)) {
		return fmt.Errorf("default must be one of the enum values")
	}
	return nil
}

// CheckParamValue checks a value against its declaration: its type and,
// when the declaration has an enum, that it is one of the allowed values.
// The error is a phrase to follow the parameter's name ("must be an integer").
func CheckParamValue(p runners.Parameter, v json.RawMessage) error {
	if err := CheckParamType(p.Type, v); err != nil {
		return err
	}
	if len(p.Enum) > 0 {
		c := canonical(v)
		for _, a := range p.Enum {
			if canonical(a) == c {
				return nil
			}
		}
		vals := make([]string, 0, len(p.Enum))
		for _, a := range p.Enum {
			vals = append(vals, string(a))
		}
		return fmt.Errorf("must be one of %s", clip(strings.Join(vals, ", ")))
	}
	return nil
}

// CheckParamType checks that v (one JSON value) is of type t: a string,
// a boolean, a number, or an integer (a number without a fractional part,
// 3 and 3.0 alike, from -2^63 to 2^63-1). null is of no type.
func CheckParamType(t string, v json.RawMessage) error {
	v = bytes.TrimSpace(v)
	if !json.Valid(v) {
		return fmt.Errorf("must be a JSON value")
	}
	switch t {
	case runners.ParamString:
		if v[0] != '"' {
			return fmt.Errorf("must be a string")
		}
	case runners.ParamBoolean:
		if s := string(v); s != "true" && s != "false" {
			return fmt.Errorf("must be a boolean (true or false)")
		}
	case runners.ParamNumber:
		if !isNumber(v) {
			return fmt.Errorf("must be a number")
		}
		if f, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("must be a number within the range of a 64-bit float")
		}
	case runners.ParamInteger:
		if !isNumber(v) {
			return fmt.Errorf("must be an integer")
		}
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || f != math.Trunc(f) {
			return fmt.Errorf("must be an integer")
		}
		if f < math.MinInt64 || f >= math.MaxInt64 {
			return fmt.Errorf("must be an integer from -2^63 to 2^63-1")
		}
	default:
		return fmt.Errorf("has an unknown type %q", t)
	}
	return nil
}

// isNumber reports whether a valid JSON value is a number.
func isNumber(v []byte) bool { return v[0] == '-' || v[0] >= '0' && v[0] <= '9' }

// canonical makes two spellings of one JSON value compare equal (1 and
// 1.0, "\u0041" and "A").
func canonical(v json.RawMessage) string {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return string(v)
	}
	out, _ := json.Marshal(x) // decoded JSON marshals
	return string(out)
}
