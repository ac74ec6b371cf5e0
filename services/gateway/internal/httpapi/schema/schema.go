// Package schema makes OpenAPI 3.0 schemas of Go types by reflection, so the
// API document states exactly what encoding/json writes and reads: a struct
// is a closed object (additionalProperties false) of its JSON fields, a
// field without omitempty is always written (required in what the API
// answers), a pointer that is not omitempty may be null.
//
// A type is described once per direction: Output (what the API answers) and
// Input (request bodies). The two differ in what they require: an answer
// always holds its fields without omitempty, while a request need only hold
// the fields the service refuses to do without (Options.Required).
package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Mode is the direction a schema describes.
type Mode int

const (
	// Output is a body the API answers with.
	Output Mode = iota
	// Input is a request body.
	Input
)

// Field names one JSON field of a struct type.
type Field struct {
	Type reflect.Type
	Name string // the JSON name
}

// FieldOf is the field named name of T.
func FieldOf[T any](name string) Field { return Field{Type: reflect.TypeFor[T](), Name: name} }

// Options refine what reflection cannot know.
type Options struct {
	// Names names component schemas whose Go name is ambiguous or unclear.
	Names map[reflect.Type]string
	// Required lists the fields an Input body of a type must hold.
	Required map[reflect.Type][]string
	// Fields refine a field's schema (an enum, a description, a narrower
	// type); they apply to both directions and not to fields that are
	// references to other components.
	Fields map[Field]func(*openapi3.Schema)
	// Descriptions describe component schemas.
	Descriptions map[reflect.Type]string
}

type key struct {
	t    reflect.Type
	mode Mode
}

type component struct {
	schema *openapi3.Schema
	refs   []*openapi3.SchemaRef
}

// Generator collects the component schemas of the types it is asked about.
type Generator struct {
	opts       Options
	components map[key]*component
	order      []key
	usedFields map[Field]bool
	usedReq    map[reflect.Type]bool
}

// New returns a Generator with opts.
func New(opts Options) *Generator {
	return &Generator{opts: opts, components: map[key]*component{}, usedFields: map[Field]bool{}, usedReq: map[reflect.Type]bool{}}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// Ref returns a schema of t in mode: a reference to a component for a
// struct, the schema itself otherwise. The references get their names in
// Components.
func (g *Generator) Ref(t reflect.Type, mode Mode) *openapi3.SchemaRef {
	return g.ref(t, mode, false)
}

func (g *Generator) ref(t reflect.Type, mode Mode, nullable bool) *openapi3.SchemaRef {
	switch t {
	case timeType:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Format: "date-time", Nullable: nullable})
	case rawType:
		return openapi3.NewSchemaRef("", &openapi3.Schema{Description: "Any JSON value."})
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.ref(t.Elem(), mode, true)
	case reflect.Struct:
		ref := g.component(t, mode)
		if !nullable {
			return ref
		}
		// A reference has no siblings in OpenAPI 3.0: null is allowed around
		// it, and nullable needs the type beside it.
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, AllOf: openapi3.SchemaRefs{ref}, Nullable: true})
	}
	s := g.inline(t, mode)
	s.Nullable = s.Nullable || nullable
	return openapi3.NewSchemaRef("", s)
}

func ptr[T any](v T) *T { return &v }

func typed(name string) *openapi3.Schema { return &openapi3.Schema{Type: &openapi3.Types{name}} }

func (g *Generator) inline(t reflect.Type, mode Mode) *openapi3.Schema {
	switch t.Kind() {
	case reflect.Bool:
		return typed(openapi3.TypeBoolean)
	case reflect.String:
		return typed(openapi3.TypeString)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		s := typed(openapi3.TypeInteger)
		if t.Kind() == reflect.Int32 {
			s.Format = "int32"
		}
		return s
	case reflect.Int64:
		s := typed(openapi3.TypeInteger)
		s.Format = "int64"
		return s
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s := typed(openapi3.TypeInteger)
		s.Format, s.Min = "int64", new(float64)
		return s
	case reflect.Float32:
		s := typed(openapi3.TypeNumber)
		s.Format = "float"
		return s
	case reflect.Float64:
		s := typed(openapi3.TypeNumber)
		s.Format = "double"
		return s
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 { // base64, as encoding/json writes it
			s := typed(openapi3.TypeString)
			s.Format = "byte"
			return s
		}
		s := typed(openapi3.TypeArray)
		s.Items = g.ref(t.Elem(), mode, false)
		return s
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("schema: map key of %s is not a string", t))
		}
		s := typed(openapi3.TypeObject)
		if t.Elem().Kind() == reflect.Interface {
			// Values of any kind, null too: OpenAPI 3.0 has no schema for
			// that but the absent one.
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: ptr(true)}
			return s
		}
		s.AdditionalProperties = openapi3.AdditionalProperties{Schema: g.ref(t.Elem(), mode, false)}
		return s
	case reflect.Interface:
		return &openapi3.Schema{Description: "Any JSON value."}
	}
	panic(fmt.Sprintf("schema: %s cannot be described", t))
}

// component returns a reference to the component of a struct type,
// describing it the first time.
func (g *Generator) component(t reflect.Type, mode Mode) *openapi3.SchemaRef {
	k := key{t, mode}
	c, ok := g.components[k]
	if !ok {
		c = &component{schema: typed(openapi3.TypeObject)}
		g.components[k] = c // before the fields: a type may refer to itself
		g.order = append(g.order, k)
		g.object(t, mode, c.schema)
	}
	ref := openapi3.NewSchemaRef("", c.schema)
	c.refs = append(c.refs, ref)
	return ref
}

// field is one JSON field of a struct, embedded structs flattened as
// encoding/json does.
type field struct {
	name      string
	t         reflect.Type
	omitEmpty bool
}

func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, fields(et)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		var omit bool
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				omit = true
			case "string":
				panic(fmt.Sprintf("schema: %s.%s: the ,string option is not described", t, f.Name))
			}
		}
		out = append(out, field{name: name, t: f.Type, omitEmpty: omit})
	}
	return out
}

func (g *Generator) object(t reflect.Type, mode Mode, s *openapi3.Schema) {
	s.Properties = openapi3.Schemas{}
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)} // closed: false
	s.Description = g.opts.Descriptions[t]
	for _, f := range fields(t) {
		if _, dup := s.Properties[f.name]; dup {
			panic(fmt.Sprintf("schema: %s has two fields named %q", t, f.name))
		}
		// An answer omits a nil pointer of an omitempty field, never writes
		// null; a request may hold null for any pointer.
		ft := f.t
		if ft.Kind() == reflect.Pointer && f.omitEmpty && mode == Output {
			ft = ft.Elem()
		}
		ref := g.ref(ft, mode, false)
		if refine, ok := g.opts.Fields[Field{t, f.name}]; ok {
			if ref.Value == nil || ref.Ref != "" || ref.Value.AllOf != nil || g.isComponentRef(ref) {
				panic(fmt.Sprintf("schema: field %s.%s refers to a component and cannot be refined", t, f.name))
			}
			refine(ref.Value)
			g.usedFields[Field{t, f.name}] = true
		}
		s.Properties[f.name] = ref
		if mode == Output && !f.omitEmpty {
			s.Required = append(s.Required, f.name)
		}
	}
	if mode == Input {
		req, ok := g.opts.Required[t]
		g.usedReq[t] = ok
		for _, name := range req {
			if _, ok := s.Properties[name]; !ok {
				panic(fmt.Sprintf("schema: %s has no field %q to require", t, name))
			}
			s.Required = append(s.Required, name)
		}
	}
}

func (g *Generator) isComponentRef(ref *openapi3.SchemaRef) bool {
	for _, c := range g.components {
		if slices.Contains(c.refs, ref) {
			return true
		}
	}
	return false
}

// Components names every component described so far, points the references
// handed out at them and returns them. A struct is named after its Go type
// (Options.Names overrides); an Input schema of a type also described as
// Output gets the suffix "Input". Two types of one name are an error, as is
// an option that names nothing described.
func (g *Generator) Components() (openapi3.Schemas, error) {
	names := map[string]key{}
	out := openapi3.Schemas{}
	for _, k := range g.order {
		name, ok := g.opts.Names[k.t]
		if !ok {
			name = k.t.Name()
		}
		if name == "" || strings.ContainsAny(name, "[]/ ") {
			return nil, fmt.Errorf("schema: %s needs a name (Options.Names)", k.t)
		}
		if k.mode == Input {
			if _, both := g.components[key{k.t, Output}]; both {
				name += "Input"
			}
		}
		if other, taken := names[name]; taken {
			return nil, fmt.Errorf("schema: %s and %s are both named %s; name one in Options.Names", other.t, k.t, name)
		}
		names[name] = k
		c := g.components[k]
		for _, r := range c.refs {
			r.Ref = "#/components/schemas/" + name
		}
		out[name] = openapi3.NewSchemaRef("", c.schema)
	}
	for f := range g.opts.Fields {
		if !g.usedFields[f] {
			return nil, fmt.Errorf("schema: Options.Fields names %s.%s, which no schema holds", f.Type, f.Name)
		}
	}
	for t := range g.opts.Required {
		if !g.usedReq[t] {
			return nil, fmt.Errorf("schema: Options.Required names %s, which is no request body", t)
		}
	}
	return out, nil
}
