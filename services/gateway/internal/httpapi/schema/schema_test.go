package schema

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

type inner struct {
	Name string `json:"name"`
}

type base struct {
	ID string `json:"id"`
}

type sample struct {
	base
	Count    int64             `json:"count"`
	Ratio    float64           `json:"ratio"`
	Flag     bool              `json:"flag,omitempty"`
	At       time.Time         `json:"at"`
	Ended    *time.Time        `json:"ended"`
	Note     *string           `json:"note,omitempty"`
	Tags     []string          `json:"tags"`
	Labels   map[string]string `json:"labels"`
	Details  map[string]any    `json:"details"`
	Raw      []byte            `json:"raw"`
	Params   json.RawMessage   `json:"params,omitempty"`
	Inner    inner             `json:"inner"`
	Maybe    *inner            `json:"maybe"`
	Optional *inner            `json:"optional,omitempty"`
	Seq      uint64            `json:"seq"`
	Hidden   string            `json:"-"`
	private  string
	Untagged string
}

func components(t *testing.T, g *Generator) openapi3.Schemas {
	t.Helper()
	c, err := g.Components()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOutputDescribesWhatEncodingJSONWrites(t *testing.T) {
	g := New(Options{})
	ref := g.Ref(reflect.TypeFor[sample](), Output)
	c := components(t, g)
	if ref.Ref != "#/components/schemas/sample" {
		t.Fatalf("ref = %q", ref.Ref)
	}
	s := c["sample"].Value
	if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		t.Fatal("a struct is not closed (additionalProperties false)")
	}
	wantProps := []string{"id", "count", "ratio", "flag", "at", "ended", "note", "tags", "labels", "details", "raw", "params",
		"inner", "maybe", "optional", "seq", "Untagged"}
	var props []string
	for name := range s.Properties {
		props = append(props, name)
	}
	slices.Sort(props)
	slices.Sort(wantProps)
	if !slices.Equal(props, wantProps) {
		t.Fatalf("properties %v, want %v", props, wantProps)
	}
	wantRequired := []string{"id", "count", "ratio", "at", "ended", "tags", "labels", "details", "raw", "inner", "maybe", "seq", "Untagged"}
	if !slices.Equal(s.Required, wantRequired) {
		t.Fatalf("required %v, want %v (every field without omitempty, embedded ones first)", s.Required, wantRequired)
	}
	p := s.Properties
	for name, check := range map[string]func(*openapi3.Schema) bool{
		"count": func(x *openapi3.Schema) bool { return x.Type.Is("integer") && x.Format == "int64" },
		"ratio": func(x *openapi3.Schema) bool { return x.Type.Is("number") },
		"at":    func(x *openapi3.Schema) bool { return x.Type.Is("string") && x.Format == "date-time" && !x.Nullable },
		"ended": func(x *openapi3.Schema) bool { return x.Type.Is("string") && x.Format == "date-time" && x.Nullable },
		"note":  func(x *openapi3.Schema) bool { return x.Type.Is("string") && !x.Nullable }, // omitted when nil, never null
		"tags":  func(x *openapi3.Schema) bool { return x.Type.Is("array") && x.Items.Value.Type.Is("string") },
		"labels": func(x *openapi3.Schema) bool {
			return x.Type.Is("object") && x.AdditionalProperties.Schema.Value.Type.Is("string")
		},
		"details": func(x *openapi3.Schema) bool { return x.Type.Is("object") && *x.AdditionalProperties.Has },
		"raw":     func(x *openapi3.Schema) bool { return x.Type.Is("string") && x.Format == "byte" },
		"seq":     func(x *openapi3.Schema) bool { return x.Type.Is("integer") && *x.Min == 0 },
		"maybe": func(x *openapi3.Schema) bool {
			return x.Nullable && x.Type.Is("object") && x.AllOf[0].Ref == "#/components/schemas/inner"
		},
		"optional": func(x *openapi3.Schema) bool { return !x.Nullable && x.Type.Is("object") },
	} {
		if !check(p[name].Value) {
			raw, _ := json.Marshal(p[name])
			t.Errorf("property %s is described as %s", name, raw)
		}
	}
	if p["inner"].Ref != "#/components/schemas/inner" || p["optional"].Ref != "#/components/schemas/inner" {
		t.Errorf("struct fields are not references to their component: %q %q", p["inner"].Ref, p["optional"].Ref)
	}
}

// TestOutputSchemaValidatesMarshaledValues holds the schema against what
// encoding/json makes of a value: it passes, and a field the type does not
// have fails.
func TestOutputSchemaValidatesMarshaledValues(t *testing.T) {
	g := New(Options{})
	g.Ref(reflect.TypeFor[sample](), Output)
	doc := &openapi3.T{OpenAPI: "3.0.3", Info: &openapi3.Info{Title: "t", Version: "1"}, Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: components(t, g)}}
	raw, _ := json.Marshal(doc)
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Validate(t.Context()); err != nil {
		t.Fatalf("the components are no valid OpenAPI: %v", err)
	}
	s := loaded.Components.Schemas["sample"].Value
	note := "n"
	v := sample{base: base{ID: "x"}, private: "not written", Tags: []string{"a"}, Labels: map[string]string{}, Details: map[string]any{"k": nil},
		Note: &note, Maybe: &inner{Name: "m"}, Params: json.RawMessage(`{"a":1}`), Raw: []byte("r")}
	var value any
	data, _ := json.Marshal(v)
	json.Unmarshal(data, &value)
	if err := s.VisitJSON(value); err != nil {
		t.Fatalf("%s does not validate: %v", data, err)
	}
	value.(map[string]any)["extra"] = 1
	if err := s.VisitJSON(value); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("an undocumented field passed: %v", err)
	}
	delete(value.(map[string]any), "extra")
	delete(value.(map[string]any), "count")
	if err := s.VisitJSON(value); err == nil {
		t.Fatal("a missing required field passed")
	}
	var nilTags any
	data, _ = json.Marshal(sample{Labels: map[string]string{}, Details: map[string]any{}, Raw: []byte("r")})
	json.Unmarshal(data, &nilTags)
	if err := s.VisitJSON(nilTags); err == nil || !strings.Contains(err.Error(), "tags") {
		t.Fatalf("a nil slice, written as null, passed as an array: %v", err)
	}
}

type request struct {
	Name    string  `json:"name"`
	Role    *string `json:"role"`
	Inner   inner   `json:"inner"`
	Comment string  `json:"comment,omitempty"`
}

type reply struct {
	Inner inner `json:"inner"`
}

func TestInputRequiresOnlyWhatIsListed(t *testing.T) {
	g := New(Options{Required: map[reflect.Type][]string{reflect.TypeFor[request](): {"name"}}})
	reqRef := g.Ref(reflect.TypeFor[request](), Input)
	g.Ref(reflect.TypeFor[reply](), Output)
	c := components(t, g)
	if reqRef.Ref != "#/components/schemas/request" {
		t.Fatalf("ref = %q", reqRef.Ref)
	}
	req := c["request"].Value
	if !slices.Equal(req.Required, []string{"name"}) || !req.Properties["role"].Value.Nullable {
		t.Fatalf("request: required %v, role nullable %v", req.Required, req.Properties["role"].Value.Nullable)
	}
	// inner is described both ways: the request's is inner's Input schema.
	if req.Properties["inner"].Ref != "#/components/schemas/innerInput" || c["inner"] == nil || c["innerInput"] == nil {
		t.Fatalf("inner in a request refers to %q; components %v", req.Properties["inner"].Ref, keys(c))
	}
	if len(c["innerInput"].Value.Required) != 0 || !slices.Equal(c["inner"].Value.Required, []string{"name"}) {
		t.Fatalf("innerInput requires %v, inner %v", c["innerInput"].Value.Required, c["inner"].Value.Required)
	}
}

func keys(m openapi3.Schemas) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type other struct{ X int }

func TestOptionsNameRefineAndAreChecked(t *testing.T) {
	t.Run("names, descriptions and refinements apply", func(t *testing.T) {
		g := New(Options{
			Names:        map[reflect.Type]string{reflect.TypeFor[inner](): "Named"},
			Descriptions: map[reflect.Type]string{reflect.TypeFor[inner](): "An inner thing."},
			Fields: map[Field]func(*openapi3.Schema){FieldOf[inner]("name"): func(s *openapi3.Schema) {
				s.Enum = []any{"a", "b"}
			}},
		})
		ref := g.Ref(reflect.TypeFor[inner](), Output)
		c := components(t, g)
		if ref.Ref != "#/components/schemas/Named" || c["Named"].Value.Description != "An inner thing." ||
			len(c["Named"].Value.Properties["name"].Value.Enum) != 2 {
			t.Fatalf("ref %q, components %v", ref.Ref, keys(c))
		}
	})
	for name, tc := range map[string]struct {
		opts Options
		want string
	}{
		"two types of one name":        {Options{Names: map[reflect.Type]string{reflect.TypeFor[other](): "inner"}}, "both named inner"},
		"a refinement of nothing":      {Options{Fields: map[Field]func(*openapi3.Schema){FieldOf[inner]("nope"): func(*openapi3.Schema) {}}}, "nope"},
		"a required list of no body":   {Options{Required: map[reflect.Type][]string{reflect.TypeFor[other](): {"X"}}}, "no request body"},
		"an anonymous type, unnamed":   {Options{}, "needs a name"},
		"a name that is no identifier": {Options{Names: map[reflect.Type]string{reflect.TypeFor[inner](): "a/b"}}, "needs a name"},
	} {
		t.Run(name, func(t *testing.T) {
			g := New(tc.opts)
			g.Ref(reflect.TypeFor[inner](), Output)
			g.Ref(reflect.TypeFor[other](), Output)
			if name == "an anonymous type, unnamed" {
				g.Ref(reflect.TypeFor[struct{ A int }](), Output)
			}
			if _, err := g.Components(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestWhatCannotBeDescribedPanics(t *testing.T) {
	for name, f := range map[string]func(g *Generator){
		"a map with integer keys": func(g *Generator) { g.Ref(reflect.TypeFor[map[int]string](), Output) },
		"a channel":               func(g *Generator) { g.Ref(reflect.TypeFor[chan int](), Output) },
		"the ,string option": func(g *Generator) {
			g.Ref(reflect.TypeFor[struct {
				N int `json:"n,string"`
			}](), Output)
		},
		"a required field the type lacks": func(g *Generator) {
			g.opts.Required = map[reflect.Type][]string{reflect.TypeFor[inner](): {"nope"}}
			g.Ref(reflect.TypeFor[inner](), Input)
		},
		"a refinement of a reference": func(g *Generator) {
			g.opts.Fields = map[Field]func(*openapi3.Schema){FieldOf[reply]("inner"): func(*openapi3.Schema) {}}
			g.Ref(reflect.TypeFor[reply](), Output)
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f(New(Options{}))
		})
	}
}

type node struct {
	Children []node `json:"children"`
}

func TestRecursiveTypesRefer(t *testing.T) {
	g := New(Options{})
	g.Ref(reflect.TypeFor[node](), Output)
	c := components(t, g)
	if c["node"].Value.Properties["children"].Value.Items.Ref != "#/components/schemas/node" {
		t.Fatal("a type that holds itself does not refer to itself")
	}
}
