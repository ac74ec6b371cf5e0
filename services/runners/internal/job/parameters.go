package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
)

// checkParameters holds a job's parameters (a normalized object) to what
// its package version declares and fills in the defaults of the optional
// ones left out, appended in the order they are declared after the
// parameters as sent (which stay as they came). A package that declares
// nothing (decl nil) takes any parameters. Refused, naming the parameter:
// a name given twice, a name not declared, a value not of its type (or not
// among its enum), a required parameter left out.
func checkParameters(decl []runners.Parameter, params json.RawMessage) (json.RawMessage, error) {
	if decl == nil {
		return params, nil
	}
	given, err := objectMembers(params)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]runners.Parameter, len(decl))
	for _, p := range decl {
		byName[p.Name] = p
	}
	for _, m := range given {
		p, ok := byName[m.name]
		if !ok {
			return nil, errs.Ef(errs.InvalidArgument, "parameter %q: the package declares no such parameter (%s)", clipName(m.name), declared(decl))
		}
		if err := pkgstore.CheckParamValue(p, m.value); err != nil {
			return nil, errs.Ef(errs.InvalidArgument, "parameter %q: %v", p.Name, err)
		}
	}
	var defaults bytes.Buffer
	for _, p := range decl {
		if hasMember(given, p.Name) {
			continue
		}
		if p.Required {
			return nil, errs.Ef(errs.InvalidArgument, "parameter %q: required, and missing", p.Name)
		}
		if p.Default == nil {
			continue
		}
		name, _ := json.Marshal(p.Name) // a string marshals
		defaults.WriteByte(',')
		defaults.Write(name)
		defaults.WriteByte(':')
		if err := json.Compact(&defaults, p.Default); err != nil {
			return nil, fmt.Errorf("default of parameter %q: %w", p.Name, err)
		}
	}
	if defaults.Len() == 0 {
		return params, nil
	}
	return withMembers(params, defaults.Bytes(), len(given) == 0)
}

// withMembers appends members (",name:value..." ) to an object.
func withMembers(obj json.RawMessage, members []byte, empty bool) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(obj)
	body := bytes.TrimSpace(trimmed[:len(trimmed)-1]) // up to its closing "}"
	if empty {
		members = members[1:] // no comma after "{"
	}
	out := make([]byte, 0, len(body)+len(members)+1)
	out = append(append(append(out, body...), members...), '}')
	if len(out) > MaxParametersBytes {
		return nil, errs.Ef(errs.InvalidArgument, "parameters with the package's defaults filled in exceed %d bytes", MaxParametersBytes)
	}
	return out, nil
}

type member struct {
	name  string
	value json.RawMessage
}

// objectMembers reads the members of a JSON object in order, refusing a
// name given twice (readers disagree on which of the two counts).
func objectMembers(obj json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // "{": normalizeParameters made it an object
		return nil, fmt.Errorf("read parameters: %w", err)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read parameters: %w", err)
		}
		name, _ := tok.(string) // an object's member name is a string
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read parameter %q: %w", clipName(name), err)
		}
		if hasMember(out, name) {
			return nil, errs.Ef(errs.InvalidArgument, "parameter %q: given twice", clipName(name))
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

func hasMember(ms []member, name string) bool {
	for _, m := range ms {
		if m.name == name {
			return true
		}
	}
	return false
}

// declared names the declared parameters for a message.
func declared(decl []runners.Parameter) string {
	if len(decl) == 0 {
		return "it takes none"
	}
	names := make([]string, 0, len(decl))
	for _, p := range decl {
		names = append(names, p.Name)
	}
	list := strings.Join(names, ", ")
	if len(list) > 200 {
		list = list[:200] + "..."
	}
	return "it takes " + list
}

// clipName shortens a name a client sent for a message.
func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
