package natsapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/packages"
)

func (h *jobsHarness) servePackages(t *testing.T) {
	t.Helper()
	svc, err := packages.NewService(h.store.Store.Packages(), h.svc, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	natsrpctest.Serve(t, natstest.Connect(t, h.url), h.log, "exekra-runners-packages", natsapi.PackageEndpoints(svc)...)
}

func sha(i int) string { return fmt.Sprintf("%064x", i) }

func (h *jobsHarness) record(t *testing.T, name, version string, i int) runners.Package {
	t.Helper()
	return must[runners.Package](t)(call[runners.Package](as(developer), h.harness, runners.SubjectPackageRecord,
		runners.RecordPackageRequest{Name: name, Version: version, SHA256: sha(i), SizeBytes: int64(100 + i), Entrypoint: []string{"run"}}))
}

func TestPackages(t *testing.T) {
	h := newJobsHarness(t)
	h.servePackages(t)
	p := h.record(t, "etl", "1.2.0", 1)
	if p.Name != "etl" || p.Version != "1.2.0" || p.SHA256 != sha(1) || p.SizeBytes != 101 || p.PublishedBy != developer.ID ||
		!p.PublishedAt.Equal(h.clock.Now()) {
		t.Fatalf("recorded %+v", p)
	}
	h.clock.Advance(1)
	h.record(t, "etl", "1.10.0", 2)
	h.record(t, "etl", "1.10.0-rc.1", 3) // published later, but older by semver
	h.record(t, "alpha", "0.1.0", 4)
	h.record(t, "zeta", "3.0.0", 5)

	t.Run("a repeat of a name and version is a conflict, even with the same bytes", func(t *testing.T) {
		_, err := call[runners.Package](as(developer), h.harness, runners.SubjectPackageRecord,
			runners.RecordPackageRequest{Name: "etl", Version: "1.2.0", SHA256: sha(1), SizeBytes: 101})
		wantKind(t, err, errs.Conflict)
	})
	t.Run("publishing is audited as package.publish", func(t *testing.T) {
		var n int
		for _, ev := range h.events(t) {
			if ev.Action == runners.ActionPackagePublish {
				n++
				if ev.Actor.ID != developer.ID || !strings.Contains(ev.Target.ID, "@") {
					t.Fatalf("event %+v", ev)
				}
			}
		}
		if n != 5 {
			t.Fatalf("%d publish events, want 5", n)
		}
	})
	t.Run("bad records and roles are refused", func(t *testing.T) {
		for name, tc := range map[string]struct {
			req  runners.RecordPackageRequest
			kind errs.Kind
		}{
			"bad semver":  {runners.RecordPackageRequest{Name: "x", Version: "1.0", SHA256: sha(9), SizeBytes: 1}, errs.InvalidArgument},
			"bad name":    {runners.RecordPackageRequest{Name: "X/y", Version: "1.0.0", SHA256: sha(9), SizeBytes: 1}, errs.InvalidArgument},
			"bad sha256":  {runners.RecordPackageRequest{Name: "x", Version: "1.0.0", SHA256: "abc", SizeBytes: 1}, errs.InvalidArgument},
			"empty bytes": {runners.RecordPackageRequest{Name: "x", Version: "1.0.0", SHA256: sha(9)}, errs.InvalidArgument},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := call[runners.Package](as(developer), h.harness, runners.SubjectPackageRecord, tc.req)
				wantKind(t, err, tc.kind)
			})
		}
		_, err := call[runners.Package](as(operator), h.harness, runners.SubjectPackageRecord,
			runners.RecordPackageRequest{Name: "x", Version: "1.0.0", SHA256: sha(9), SizeBytes: 1})
		wantKind(t, err, errs.PermissionDenied)
		_, err = call[runners.ListPackagesResponse](gateway(sourceIP), h.harness, runners.SubjectPackageList, runners.ListPackagesRequest{})
		wantKind(t, err, errs.PermissionDenied)
	})
	t.Run("list shows the latest version of each by semver, paged by name", func(t *testing.T) {
		page := must[runners.ListPackagesResponse](t)(call[runners.ListPackagesResponse](as(operator), h.harness,
			runners.SubjectPackageList, runners.ListPackagesRequest{Limit: 2}))
		if len(page.Items) != 2 || page.Items[0].Name != "alpha" || page.Items[1].Name != "etl" || page.Items[1].Version != "1.10.0" ||
			page.NextCursor == "" {
			t.Fatalf("page %+v", page)
		}
		page = must[runners.ListPackagesResponse](t)(call[runners.ListPackagesResponse](as(operator), h.harness,
			runners.SubjectPackageList, runners.ListPackagesRequest{Limit: 2, Cursor: page.NextCursor}))
		if len(page.Items) != 1 || page.Items[0].Name != "zeta" || page.NextCursor != "" {
			t.Fatalf("page %+v", page)
		}
	})
	t.Run("versions are newest first by semver; an unknown name is not_found", func(t *testing.T) {
		vs := must[runners.PackageVersions](t)(call[runners.PackageVersions](as(operator), h.harness,
			runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: "etl"}))
		var got []string
		for _, v := range vs.Items {
			got = append(got, v.Version)
		}
		if strings.Join(got, " ") != "1.10.0 1.10.0-rc.1 1.2.0" {
			t.Fatalf("versions %v", got)
		}
		_, err := call[runners.PackageVersions](as(operator), h.harness, runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: "nope"})
		wantKind(t, err, errs.NotFound)
		g := must[runners.Package](t)(call[runners.Package](as(operator), h.harness, runners.SubjectPackageGet,
			runners.PackageRequest{Name: "etl", Version: "latest"}))
		if g.Version != "1.10.0" {
			t.Fatalf("latest %+v", g)
		}
	})
	t.Run("a runner may download only the package of a job it holds", func(t *testing.T) {
		reg := h.register(t, "pkg-runner", runners.EnvStaging)
		other := h.register(t, "pkg-other", runners.EnvStaging)
		access := func(r runners.Registered, version string) (runners.PackageAccess, error) {
			return call[runners.PackageAccess](gateway(sourceIP), h.harness, runners.SubjectPackageAccess,
				runners.PackageAccessRequest{AgentRequest: agent(r), Name: "etl", Version: version})
		}
		_, err := access(reg, "1.2.0")
		wantKind(t, err, errs.PermissionDenied)
		h.create(t, runners.CreateJobRequest{Package: "etl", Version: "1.2.0", Environment: runners.EnvStaging})
		c := h.mustClaim(t, reg)
		got, err := access(reg, "1.2.0")
		if err != nil || got.SHA256 != sha(1) || got.SizeBytes != 101 {
			t.Fatalf("access = %+v, %v", got, err)
		}
		_, err = access(reg, "1.10.0")
		wantKind(t, err, errs.PermissionDenied)
		_, err = access(other, "1.2.0")
		wantKind(t, err, errs.PermissionDenied)
		bad := reg
		bad.MachineSecret = "exk_ms_wrong"
		_, err = access(bad, "1.2.0")
		wantKind(t, err, errs.InvalidCredentials)
		if err := h.complete(reg, c.ID, c.Attempt, runners.JobSucceeded); err != nil {
			t.Fatal(err)
		}
		_, err = access(reg, "1.2.0")
		wantKind(t, err, errs.PermissionDenied)
	})
}
