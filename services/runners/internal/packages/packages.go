// Package packages is the catalogue of published package versions: their
// metadata in PostgreSQL (the bytes live in the JetStream object store, put
// there by the gateway) and the check that a runner may download one.
package packages

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/services/runners/internal/access"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// Package is a published version.
type Package struct {
	Name, Version, SHA256 string
	SizeBytes             int64
	PublishedBy           string
	PublishedAt           time.Time
	// Parameters the manifest declares; nil when it declares none.
	Parameters []contract.Parameter
	// Assets the manifest declares (their names); nil when none.
	Assets []string
}

// Store keeps package metadata.
type Store interface {
	// RecordPackage inserts p and records ev in one transaction; an existing
	// name and version is a conflict.
	RecordPackage(ctx context.Context, p Package, ev audit.Event) error
	// PackageNames returns up to limit names after after, in order.
	PackageNames(ctx context.Context, after string, limit int) ([]string, error)
	// PackageVersions returns every version of the names, in any order.
	PackageVersions(ctx context.Context, names ...string) ([]Package, error)
	// HeldPackage finds the package of a claimed or running job of runnerID.
	HeldPackage(ctx context.Context, runnerID, name, version string) (sha string, size int64, ok bool, err error)
}

// Authenticator checks runner credentials (runner.Service).
type Authenticator interface {
	AuthenticateRunner(ctx context.Context, p runner.Presented) (runner.Runner, error)
}

// Service is the catalogue's operations.
type Service struct {
	Store   Store
	Runners Authenticator
	Now     func() time.Time
}

// NewService checks its dependencies.
func NewService(store Store, runners Authenticator, now func() time.Time) (*Service, error) {
	if store == nil || runners == nil {
		return nil, errors.New("package service: missing dependency")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: store, Runners: runners, Now: now}, nil
}

// Record records a package version whose bytes are stored (DEVELOPER and up).
func (s *Service) Record(ctx context.Context, in contract.RecordPackageRequest) (Package, error) {
	if err := access.Require(ctx, identity.RoleDeveloper, "publishing packages"); err != nil {
		return Package{}, err
	}
	for _, err := range []error{pkgstore.ValidName(in.Name), pkgstore.ValidVersion(in.Version), pkgstore.ValidSHA256(in.SHA256)} {
		if err != nil {
			return Package{}, err
		}
	}
	if in.SizeBytes <= 0 {
		return Package{}, errs.E(errs.InvalidArgument, "size_bytes must be positive")
	}
	if err := pkgstore.ValidateParameters(in.Parameters); err != nil {
		return Package{}, err
	}
	if err := pkgstore.ValidateAssets(in.Assets); err != nil {
		return Package{}, err
	}
	p := Package{Name: in.Name, Version: in.Version, SHA256: in.SHA256, SizeBytes: in.SizeBytes,
		PublishedBy: caller.ActorFromContext(ctx).ID, PublishedAt: s.Now().UTC().Truncate(time.Microsecond),
		Parameters: in.Parameters, Assets: in.Assets}
	details := map[string]any{"name": p.Name, "version": p.Version, "sha256": p.SHA256, "size_bytes": p.SizeBytes}
	if len(in.Entrypoint) > 0 {
		details["entrypoint"] = in.Entrypoint
	}
	if in.Parameters != nil {
		details["parameters"] = in.Parameters
	}
	if len(in.Assets) > 0 {
		details["assets"] = in.Assets
	}
	ev := audit.Event{Action: contract.ActionPackagePublish, Target: audit.Target{Type: "package", ID: p.Name + "@" + p.Version},
		Details: details}
	if err := s.Store.RecordPackage(ctx, p, ev); err != nil {
		return Package{}, err
	}
	return p, nil
}

// Page is a page of the latest version of each package.
type Page struct {
	Packages   []Package
	NextCursor string
}

// List pages through packages by name, showing each one's latest version.
func (s *Service) List(ctx context.Context, limit int, cursor string) (Page, error) {
	if err := access.Require(ctx, identity.RoleOperator, "reading packages"); err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 500 {
		return Page{}, errs.E(errs.InvalidArgument, "limit must be from 1 to 500")
	}
	if cursor != "" && pkgstore.ValidName(cursor) != nil {
		return Page{}, errs.E(errs.InvalidArgument, "cursor is not one this API gave out")
	}
	names, err := s.Store.PackageNames(ctx, cursor, limit+1)
	if err != nil {
		return Page{}, err
	}
	var page Page
	if len(names) > limit {
		names = names[:limit]
		page.NextCursor = names[limit-1]
	}
	if len(names) == 0 {
		return page, nil
	}
	all, err := s.Store.PackageVersions(ctx, names...)
	if err != nil {
		return Page{}, err
	}
	latest := map[string]Package{}
	for _, p := range all {
		if cur, ok := latest[p.Name]; !ok || newer(p, cur) {
			latest[p.Name] = p
		}
	}
	for _, n := range names {
		if p, ok := latest[n]; ok {
			page.Packages = append(page.Packages, p)
		}
	}
	return page, nil
}

// newer orders by semver precedence, then (for equal precedence, which
// differs only in build metadata) by publication.
func newer(a, b Package) bool {
	if c := pkgstore.CompareVersions(a.Version, b.Version); c != 0 {
		return c > 0
	}
	return a.PublishedAt.After(b.PublishedAt)
}

func sortNewest(ps []Package) {
	slices.SortFunc(ps, func(a, b Package) int {
		switch {
		case newer(a, b):
			return -1
		case newer(b, a):
			return 1
		}
		return 0
	})
}

// Versions lists every version of name, newest first by semver.
func (s *Service) Versions(ctx context.Context, name string) ([]Package, error) {
	if err := access.Require(ctx, identity.RoleOperator, "reading packages"); err != nil {
		return nil, err
	}
	if err := pkgstore.ValidName(name); err != nil {
		return nil, err
	}
	ps, err := s.Store.PackageVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, errs.Ef(errs.NotFound, "no package %q is published", name)
	}
	sortNewest(ps)
	return ps, nil
}

// Get returns one version; "latest" is the newest by semver.
func (s *Service) Get(ctx context.Context, name, version string) (Package, error) {
	ps, err := s.Versions(ctx, name)
	if err != nil {
		return Package{}, err
	}
	if version == "latest" || version == "" {
		return ps[0], nil
	}
	for _, p := range ps {
		if p.Version == version {
			return p, nil
		}
	}
	return Package{}, errs.Ef(errs.NotFound, "no package %q version %q is published", name, version)
}

// Access checks the runner's credentials and that it holds a job of the
// package version, and returns where its bytes are.
func (s *Service) Access(ctx context.Context, p runner.Presented, name, version string) (contract.PackageAccess, error) {
	v, err := s.Runners.AuthenticateRunner(ctx, p)
	if err != nil {
		return contract.PackageAccess{}, err
	}
	if err := checkRef(name, version); err != nil {
		return contract.PackageAccess{}, err
	}
	sha, size, ok, err := s.Store.HeldPackage(ctx, v.ID, name, version)
	if err != nil {
		return contract.PackageAccess{}, err
	}
	if !ok {
		return contract.PackageAccess{}, errs.E(errs.PermissionDenied, "this runner holds no job of this package version")
	}
	return contract.PackageAccess{SHA256: sha, SizeBytes: size}, nil
}

// checkRef refuses a name or version no package can have (a strict semantic
// version, or "latest"), before it reaches the store: the download path
// carries both as the runner typed them.
func checkRef(name, version string) error {
	if err := pkgstore.ValidName(name); err != nil {
		return err
	}
	if version == "latest" {
		return nil
	}
	return pkgstore.ValidVersion(version)
}
