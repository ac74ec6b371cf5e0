package job

import (
	"context"
	"sync"
	"time"
)

// Bounds of the package versions a Service keeps in memory: how many (past
// it the memory starts over) and for how long each.
const (
	maxKnownPackages = 4096
	knownPackageFor  = time.Minute
)

// knownPackages is a Store that keeps the published package versions it
// found for a while: a version, once published, never changes (name and
// version are its key; a package is published again only under a new
// version), so creating a job of a version read shortly before needs no
// database read. The while bounds how long a database changed behind the
// Hub's back (a restore) is not seen. "latest" is read every time: a new
// version changes it.
type knownPackages struct {
	Store
	now      func() time.Time
	mu       sync.Mutex
	versions map[[2]string]knownPackage
}

type knownPackage struct {
	Package
	until time.Time
}

func newKnownPackages(s Store, now func() time.Time) *knownPackages {
	return &knownPackages{Store: s, now: now, versions: map[[2]string]knownPackage{}}
}

// FindPackage is Store.FindPackage, from memory for a version read lately.
func (k *knownPackages) FindPackage(ctx context.Context, name, version string) (Package, error) {
	key, now := [2]string{name, version}, k.now()
	k.mu.Lock()
	p, ok := k.versions[key]
	k.mu.Unlock()
	if ok && now.Before(p.until) {
		return p.Package, nil
	}
	found, err := k.Store.FindPackage(ctx, name, version)
	if err != nil || version == latestVersion {
		return found, err
	}
	k.mu.Lock()
	if len(k.versions) >= maxKnownPackages {
		k.versions = map[[2]string]knownPackage{}
	}
	k.versions[key] = knownPackage{Package: found, until: now.Add(knownPackageFor)}
	k.mu.Unlock()
	return found, nil
}
