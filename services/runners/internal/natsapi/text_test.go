package natsapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// wantInvalid fails t unless err is invalid_argument naming field.
func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.Contains(msg, field) {
		t.Fatalf("error = %v, want invalid_argument naming %s", err, field)
	}
}

// TestTextPostgreSQLCannotHoldIsRefused pins that text PostgreSQL refuses
// (NUL, lone surrogates, invalid UTF-8) and names or versions no package can
// have are invalid arguments naming the field, not internal errors from the
// store.
func TestTextPostgreSQLCannotHoldIsRefused(t *testing.T) {
	h := newJobsHarness(t)
	h.servePackages(t)
	h.record(t, "hello", "1.0.0", 1)
	for name, params := range map[string]string{
		"NUL in a value":         `{"p":"a\u0000b"}`,
		"NUL in a key":           `{"a\u0000":"b"}`,
		"a lone high surrogate":  `{"p":"\ud800"}`,
		"a lone low surrogate":   `{"p":["x","\udc00y"]}`,
		"NUL in a nested object": `{"o":{"p":[1,{"q":"\u0000"}]}}`,
	} {
		t.Run("job parameters with "+name, func(t *testing.T) {
			_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate,
				runners.CreateJobRequest{Package: "hello", Environment: runners.EnvStaging, Parameters: json.RawMessage(params)})
			wantInvalid(t, err, "parameters")
		})
	}
	reg := h.register(t, "text-runner", runners.EnvStaging)
	for _, tc := range []struct{ name, version, field string }{
		{"hello", "\x00", "version"},
		{"hello", "1.0", "version"},
		{"he\x00llo", "1.0.0", "name"},
		{"", "1.0.0", "name"},
	} {
		t.Run("package access to "+strings.ReplaceAll(tc.name+"@"+tc.version, "\x00", "NUL"), func(t *testing.T) {
			_, err := call[runners.PackageAccess](gateway(sourceIP), h.harness, runners.SubjectPackageAccess,
				runners.PackageAccessRequest{AgentRequest: agent(reg), Name: tc.name, Version: tc.version})
			wantInvalid(t, err, tc.field)
		})
	}
}

// TestRunnerReportedErrorIsMended pins that the error a runner reports when
// a job fails is stored with NUL and invalid UTF-8 mended to U+FFFD, as its
// log lines are: refusing it would leave the job held until its lease ran out.
func TestRunnerReportedErrorIsMended(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "hello", "1.0.0", h.clock.Now())
	reg := h.register(t, "mend-runner", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "hello", Environment: runners.EnvStaging})
	c := h.mustClaim(t, reg)
	_, err := call[runners.CompleteResponse](gateway(sourceIP), h.harness, runners.SubjectComplete,
		runners.CompleteRequest{AgentRequest: agent(reg), JobID: c.ID, Attempt: c.Attempt, Status: runners.JobFailed, Error: "a\x00b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.getJob(t, j.ID); got.Error == nil || *got.Error != "a\uFFFDb" {
		t.Fatalf("job error %v", got.Error)
	}
}

// TestRunnerNamesAreVisibleText pins that a runner's name holds no control,
// format or bidirectional characters: "build\u202e" shows as something other
// than what it is in every list that prints it.
func TestRunnerNamesAreVisibleText(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"build\u202egnp", "a\u202ab", "a\u2066b", "a\u2069", "a\u200fb", "a\u200bb", "a\u2028b", "a\u0085b", "a\ufeff"} {
		t.Run(fmt.Sprintf("%+q", name), func(t *testing.T) {
			_, err := call[runners.Registered](as(admin), h, runners.SubjectRegister,
				runners.RegisterRequest{Name: name, Environment: runners.EnvStaging})
			wantInvalid(t, err, "name")
		})
	}
	for _, name := range []string{"build-01", "Zoë’s runner", "مشغل البناء", "👩‍💻 laptop"} {
		h.register(t, name, runners.EnvStaging)
	}
}
