package natsapi_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// declared is a declaration of one parameter of each type.
var declared = []runners.Parameter{
	{Name: "who", Type: runners.ParamString, Required: true, Description: "whom to greet"},
	{Name: "retries", Type: runners.ParamInteger, Default: json.RawMessage(`3`)},
	{Name: "ratio", Type: runners.ParamNumber, Default: json.RawMessage(`0.5`)},
	{Name: "dry_run", Type: runners.ParamBoolean, Default: json.RawMessage(`false`)},
}

func (h *jobsHarness) recordDeclaring(t *testing.T, name, version string, i int, ps []runners.Parameter) (runners.Package, error) {
	t.Helper()
	return call[runners.Package](as(developer), h.harness, runners.SubjectPackageRecord,
		runners.RecordPackageRequest{Name: name, Version: version, SHA256: sha(i), SizeBytes: 10, Entrypoint: []string{"run"}, Parameters: ps})
}

func sameJSON(t testing.TB, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

// A package version keeps what its manifest declares: nothing (null), no
// parameters ([]) or a list, and the package API returns it.
func TestPackageParametersAreKept(t *testing.T) {
	h := newJobsHarness(t)
	h.servePackages(t)
	must[runners.Package](t)(h.recordDeclaring(t, "old", "1.0.0", 1, nil))
	must[runners.Package](t)(h.recordDeclaring(t, "none", "1.0.0", 2, []runners.Parameter{}))
	p := must[runners.Package](t)(h.recordDeclaring(t, "greet", "1.0.0", 3, declared))
	if !sameJSON(t, p.Parameters, declared) {
		t.Fatalf("recorded %+v", p.Parameters)
	}
	var nulls int
	if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM packages WHERE parameters IS NULL").Scan(&nulls); err != nil || nulls != 1 {
		t.Fatalf("%d packages without a declaration (%v), want 1", nulls, err)
	}
	vs := must[runners.PackageVersions](t)(call[runners.PackageVersions](as(operator), h.harness,
		runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: "greet"}))
	if len(vs.Items) != 1 || !sameJSON(t, vs.Items[0].Parameters, declared) {
		t.Fatalf("versions %+v", vs.Items)
	}
	page := must[runners.ListPackagesResponse](t)(call[runners.ListPackagesResponse](as(operator), h.harness,
		runners.SubjectPackageList, runners.ListPackagesRequest{}))
	want := map[string]string{"greet": string(must[[]byte](t)(json.Marshal(declared))), "none": "[]", "old": "null"}
	for _, item := range page.Items {
		if got := string(must[[]byte](t)(json.Marshal(item.Parameters))); got != want[item.Name] {
			t.Errorf("%s: parameters %s, want %s", item.Name, got, want[item.Name])
		}
	}
	t.Run("a bad declaration is refused, naming the parameter", func(t *testing.T) {
		bad := []runners.Parameter{{Name: "retries", Type: runners.ParamInteger, Default: json.RawMessage(`"3"`)}}
		_, err := h.recordDeclaring(t, "bad", "1.0.0", 4, bad)
		wantKind(t, err, errs.InvalidArgument)
		if _, msg := errs.Public(err); !strings.Contains(msg, `parameter "retries": default must be an integer`) {
			t.Fatalf("message %q", msg)
		}
	})
}

// A job of a package that declares parameters gets its values checked and
// its defaults filled in; the runner claims it with them.
func TestJobParametersAreChecked(t *testing.T) {
	h := newJobsHarness(t)
	h.servePackages(t)
	must[runners.Package](t)(h.recordDeclaring(t, "greet", "1.0.0", 1, declared))
	must[runners.Package](t)(h.recordDeclaring(t, "old", "1.0.0", 2, nil))
	reg := h.register(t, "r1", runners.EnvStaging)
	h.beatWith(t, reg)

	req := runners.CreateJobRequest{Package: "greet", Environment: runners.EnvStaging, Parameters: params(`{"who":"world","retries":5}`),
		IdempotencyKey: "greet-1"}
	j := h.create(t, req)
	const want = `{"who":"world","retries":5,"ratio":0.5,"dry_run":false}`
	if string(j.Parameters) != want {
		t.Fatalf("job parameters %s, want %s", j.Parameters, want)
	}
	if again := h.create(t, req); again.ID != j.ID {
		t.Fatalf("the idempotent repeat made job %s, not %s", again.ID, j.ID)
	}
	c := h.mustClaim(t, reg)
	if c.ID != j.ID || !sameObject(t, c.Parameters, json.RawMessage(want)) { // jsonb orders the members its own way
		t.Fatalf("claimed %s with %s, want %s with %s", c.ID, c.Parameters, j.ID, want)
	}
	rerun := must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobRerun, runners.RerunJobRequest{ID: j.ID}))
	if rerun.ID == j.ID || !sameObject(t, rerun.Parameters, json.RawMessage(want)) {
		t.Fatalf("re-run %s with %s, want a new job with %s", rerun.ID, rerun.Parameters, want)
	}
	old := h.create(t, runners.CreateJobRequest{Package: "old", Environment: runners.EnvStaging, Parameters: params(`{"anything":[1,"x"]}`)})
	if !sameObject(t, old.Parameters, json.RawMessage(`{"anything":[1,"x"]}`)) {
		t.Fatalf("a package without a declaration: parameters %s", old.Parameters)
	}

	for name, tc := range map[string]struct{ params, msg string }{
		"wrong type":       {`{"who":"w","retries":"many"}`, `parameter "retries": must be an integer`},
		"not whole":        {`{"who":"w","retries":1.5}`, `parameter "retries": must be an integer`},
		"missing required": {`{"retries":1}`, `parameter "who": required, and missing`},
		"unknown":          {`{"who":"w","colour":"red"}`, `parameter "colour": the package declares no such parameter`},
		"no parameters":    {``, `parameter "who": required, and missing`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate,
				runners.CreateJobRequest{Package: "greet", Environment: runners.EnvStaging, Parameters: params(tc.params)})
			wantKind(t, err, errs.InvalidArgument)
			if _, msg := errs.Public(err); !strings.HasPrefix(msg, tc.msg) {
				t.Fatalf("message %q, want it to start %q", msg, tc.msg)
			}
		})
	}
}

// sameObject compares two JSON objects member by member.
func sameObject(t testing.TB, a, b json.RawMessage) bool {
	t.Helper()
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return sameJSON(t, x, y)
}
