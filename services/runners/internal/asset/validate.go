package asset

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/google/uuid"
)

var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkName refuses a name no asset can have.
func checkName(name string) error {
	if name == "" || len(name) > runners.MaxAssetNameLen || !namePattern.MatchString(name) {
		return errs.Ef(errs.InvalidArgument,
			"name must be 1 to %d letters, digits or underscores, not starting with a digit", runners.MaxAssetNameLen)
	}
	return nil
}

// checkLookup refuses a name to look up that names no asset (not found).
func checkLookup(name string) error {
	if checkName(name) != nil {
		return errs.Ef(errs.NotFound, "no asset is named %q", text.Mend(clip(name, runners.MaxAssetNameLen+1)))
	}
	return nil
}

func checkType(t string) error {
	if !slices.Contains(runners.AssetTypes, t) {
		return errs.Ef(errs.InvalidArgument, "type must be one of %s", strings.Join(runners.AssetTypes, ", "))
	}
	return nil
}

func checkDescription(d string) error {
	if len([]rune(d)) > runners.MaxAssetDescription {
		return errs.Ef(errs.InvalidArgument, "description must be at most %d characters", runners.MaxAssetDescription)
	}
	return text.Check("description", d)
}

// checkValue checks a value against its type and returns it as stored:
// compact JSON (a credential as {"username","password"}). The message never
// repeats the value.
func checkValue(typ string, raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, errs.E(errs.InvalidArgument, "value is required")
	}
	if len(trimmed) > runners.MaxAssetValueBytes {
		return nil, errs.Ef(errs.InvalidArgument, "value must be at most %d bytes of JSON", runners.MaxAssetValueBytes)
	}
	if !json.Valid(trimmed) {
		return nil, errs.E(errs.InvalidArgument, "value must be JSON")
	}
	if err := text.CheckJSON("value", trimmed); err != nil {
		return nil, errs.E(errs.InvalidArgument, "value holds characters that cannot be stored")
	}
	switch typ {
	case runners.AssetText, runners.AssetSecret:
		var s string
		if json.Unmarshal(trimmed, &s) != nil || s == "" {
			return nil, errs.Ef(errs.InvalidArgument, "a %s value must be a non-empty JSON string", typ)
		}
		return json.Marshal(s)
	case runners.AssetInteger:
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(trimmed))
		d.UseNumber()
		if trimmed[0] == '"' || d.Decode(&n) != nil || !integer(string(n)) {
			return nil, errs.E(errs.InvalidArgument, "an integer value must be a JSON integer (no fraction or exponent, within 64 bits)")
		}
		return json.RawMessage(n.String()), nil
	case runners.AssetBoolean:
		var b bool
		if json.Unmarshal(trimmed, &b) != nil {
			return nil, errs.E(errs.InvalidArgument, "a boolean value must be true or false")
		}
		return json.Marshal(b)
	case runners.AssetCredential:
		var c runners.Credential
		d := json.NewDecoder(bytes.NewReader(trimmed))
		d.DisallowUnknownFields()
		if !bytes.HasPrefix(trimmed, []byte("{")) || d.Decode(&c) != nil || c.Username == "" || c.Password == "" {
			return nil, errs.E(errs.InvalidArgument,
				`a credential value must be {"username": "...", "password": "..."}, both non-empty strings`)
		}
		return json.Marshal(c)
	}
	return nil, checkType(typ)
}

func integer(s string) bool {
	if strings.ContainsAny(s, ".eE") {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// scope is a value's scope as the store keys it.
type scope struct{ Scope, Key string }

// checkScope validates a value request's scope (the environment matched
// whatever its case) and returns the store's key.
func checkScope(req runners.AssetValueRequest) (scope, error) {
	switch req.Scope {
	case runners.ScopeGlobal:
		if req.Environment != "" || req.RunnerID != "" {
			return scope{}, errs.E(errs.InvalidArgument, "a global value names no environment or runner")
		}
		return scope{Scope: runners.ScopeGlobal}, nil
	case runners.ScopeEnvironment:
		if req.RunnerID != "" {
			return scope{}, errs.E(errs.InvalidArgument, "an environment's value names no runner")
		}
		for _, e := range runners.Environments {
			if strings.EqualFold(e, req.Environment) {
				return scope{Scope: runners.ScopeEnvironment, Key: e}, nil
			}
		}
		return scope{}, errs.Ef(errs.InvalidArgument, "environment must be one of %s", strings.Join(runners.Environments, ", "))
	case runners.ScopeRunner:
		if req.Environment != "" {
			return scope{}, errs.E(errs.InvalidArgument, "a runner's value names no environment")
		}
		if _, err := uuid.Parse(req.RunnerID); err != nil || len(req.RunnerID) != 36 {
			return scope{}, errs.E(errs.InvalidArgument, "runner_id must be a registered runner's id")
		}
		return scope{Scope: runners.ScopeRunner, Key: strings.ToLower(req.RunnerID)}, nil
	}
	return scope{}, errs.Ef(errs.InvalidArgument, "scope must be %s, %s or %s",
		runners.ScopeGlobal, runners.ScopeEnvironment, runners.ScopeRunner)
}

// details describes a scope in an audit event (never a value).
func (sc scope) details(d map[string]any) map[string]any {
	d["scope"] = sc.Scope
	switch sc.Scope {
	case runners.ScopeEnvironment:
		d["environment"] = sc.Key
	case runners.ScopeRunner:
		d["runner_id"] = sc.Key
	}
	return d
}

// describe names a scope in a message.
func (sc scope) describe() string {
	switch sc.Scope {
	case runners.ScopeEnvironment:
		return "environment " + sc.Key
	case runners.ScopeRunner:
		return "runner " + sc.Key
	}
	return "global"
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
