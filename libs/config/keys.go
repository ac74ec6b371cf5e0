package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as "10s" in JSON and variables.
type Duration time.Duration

// D returns the standard library value.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expected a duration such as \"10s\"")
	}
	return d.set(s)
}

func (d *Duration) set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"10s\"", s)
	}
	*d = Duration(v)
	return nil
}

// field is one settable key.
type field struct {
	key    string
	value  reflect.Value
	secret bool
	doc    string
}

// fields lists every key of c, in declaration order.
func (c *Config) fields() []field {
	var out []field
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name := strings.Split(sf.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			key := prefix + name
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && sf.Type != reflect.TypeFor[Duration]() {
				walk(key+".", fv)
				continue
			}
			out = append(out, field{key: key, value: fv, secret: sf.Tag.Get("secret") == "true", doc: sf.Tag.Get("doc")})
		}
	}
	walk("", reflect.ValueOf(c).Elem())
	return out
}

func (c *Config) fieldMap() map[string]field {
	m := map[string]field{}
	for _, f := range c.fields() {
		m[f.key] = f
	}
	return m
}

// Keys lists every known key.
func Keys() []string {
	var keys []string
	for _, f := range Default("").fields() {
		keys = append(keys, f.key)
	}
	return keys
}

// applyJSON overlays a settings file (JSON with // comments allowed).
func (c *Config) applyJSON(data []byte) error {
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(stripComments(data)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("not valid JSON: trailing data after the object")
	}
	fields := c.fieldMap()
	flat := map[string]any{}
	if err := flatten("", tree, fields, flat); err != nil {
		return err
	}
	for key, v := range flat {
		raw, _ := json.Marshal(v)
		if err := json.Unmarshal(raw, fields[key].value.Addr().Interface()); err != nil {
			return fmt.Errorf("key %s: %s", key, typeHint(fields[key].value, err))
		}
	}
	return nil
}

func flatten(prefix string, tree map[string]any, fields map[string]field, out map[string]any) error {
	for name, v := range tree {
		key := prefix + name
		if _, ok := fields[key]; ok {
			out[key] = v
			continue
		}
		sub, isObj := v.(map[string]any)
		if !isObj || !hasPrefix(fields, key+".") {
			return fmt.Errorf("unknown key %q", key)
		}
		if err := flatten(key+".", sub, fields, out); err != nil {
			return err
		}
	}
	return nil
}

func hasPrefix(fields map[string]field, prefix string) bool {
	for k := range fields {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func typeHint(v reflect.Value, err error) string {
	switch v.Interface().(type) {
	case Duration:
		return "expected a duration such as \"10s\""
	case string:
		return "expected a string"
	case bool:
		return "expected true or false"
	case int, int64:
		return "expected a whole number"
	case []string:
		return "expected a list of strings"
	}
	return err.Error()
}

// applyEnv overlays EXEKRA_* variables given as KEY=VALUE.
func (c *Config) applyEnv(environ []string) error {
	byEnv := map[string]field{}
	for _, f := range c.fields() {
		byEnv[EnvName(f.key)] = f
	}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		f, ok := byEnv[name]
		if !ok {
			return fmt.Errorf("variable %s names no known key", name)
		}
		if err := setString(f.value, val); err != nil {
			return fmt.Errorf("variable %s (key %s): %w", name, f.key, err)
		}
	}
	return nil
}

func setString(v reflect.Value, s string) error {
	switch p := v.Addr().Interface().(type) {
	case *Duration:
		return p.set(s)
	case *string:
		*p = s
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *DNList:
		*p = nil
		for part := range strings.SplitSeq(s, ";") {
			if part = strings.TrimSpace(part); part != "" {
				*p = append(*p, part)
			}
		}
	case *[]string:
		*p = nil
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*p = append(*p, part)
			}
		}
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// parseDotenv reads KEY=VALUE lines; # starts a comment line; values may be quoted.
func parseDotenv(data []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected NAME=value", i+1)
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if n := len(val); n >= 2 && (val[0] == '"' && val[n-1] == '"' || val[0] == '\'' && val[n-1] == '\'') {
			val = val[1 : n-1]
		}
		if !strings.HasPrefix(name, EnvPrefix) {
			return nil, fmt.Errorf("line %d: %s does not start with %s", i+1, name, EnvPrefix)
		}
		out = append(out, name+"="+val)
	}
	return out, nil
}

// stripComments removes // comments outside strings, keeping line numbers.
func stripComments(data []byte) []byte {
	out := make([]byte, 0, len(data))
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		ch := data[i]
		if inString {
			out = append(out, ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == '/' && i+1 < len(data) && data[i+1] == '/' {
			for i < len(data) && data[i] != '\n' {
				i++
			}
			if i < len(data) {
				out = append(out, '\n')
			}
			continue
		}
		if ch == '"' {
			inString = true
		}
		out = append(out, ch)
	}
	return out
}

// Effective lists every key with its value, secrets masked, for start-up logs.
func (c *Config) Effective() map[string]any {
	out := map[string]any{}
	for _, f := range c.fields() {
		v := f.value.Interface()
		if f.secret && !f.value.IsZero() {
			v = "********"
		}
		if d, ok := v.(Duration); ok {
			v = d.D().String()
		}
		out[f.key] = v
	}
	return out
}

// DefaultFile renders a commented settings file with every key at its default.
func DefaultFile() []byte {
	c := Default("")
	var b bytes.Buffer
	b.WriteString("// Exekra Hub settings. Every key can be overridden by an environment variable:\n")
	b.WriteString("// upper-case it, turn dots into underscores and prefix EXEKRA_ (database.url -> EXEKRA_DATABASE_URL).\n")
	b.WriteString("// Put secrets such as connection strings with passwords in <install-dir>/.env, not here.\n{\n")
	groups := map[string][]field{}
	var order []string
	for _, f := range c.fields() {
		g, _, _ := strings.Cut(f.key, ".")
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], f)
	}
	for gi, g := range order {
		fmt.Fprintf(&b, "  %q: {\n", g)
		fs := groups[g]
		for i, f := range fs {
			val, _ := json.Marshal(f.value.Interface())
			if f.value.Kind() == reflect.Slice && f.value.IsNil() {
				val = []byte("[]")
			}
			fmt.Fprintf(&b, "    // %s\n    %q: %s", f.doc, strings.TrimPrefix(f.key, g+"."), val)
			if i < len(fs)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("  }")
		if gi < len(order)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}
