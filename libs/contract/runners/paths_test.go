package runners

import (
	"testing"
	"time"
)

func TestPaths(t *testing.T) {
	for got, want := range map[string]string{
		JobLogsPath("j 1"):                 "/api/v1/runner/jobs/j%201/logs",
		JobCompletePath("j1"):              "/api/v1/runner/jobs/j1/complete",
		PackagePath("a/b", "1.0.0+x"):      "/api/v1/runner/packages/a%2Fb/1.0.0+x",
		RunnerPath("r1"):                   "/api/v1/runners/r1",
		RunnerRegenerateSecretPath("r1"):   "/api/v1/runners/r1/regenerate-secret",
		ClaimPath(25 * time.Second):        "/api/v1/runner/jobs/claim?wait=25",
		ClaimPath(1500 * time.Millisecond): "/api/v1/runner/jobs/claim?wait=1",
		ClaimPath(-time.Second):            "/api/v1/runner/jobs/claim?wait=0",
		ClaimPath(10 * time.Minute):        "/api/v1/runner/jobs/claim?wait=60",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestFillPanicsOnMiscount(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	fill(PathPackage, "only-name")
}
