package job

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exekra/hub/libs/errs"
)

// packageReads is a Store whose FindPackage counts its reads; the rest of
// Store is not used.
type packageReads struct {
	Store
	reads int
}

func (p *packageReads) FindPackage(_ context.Context, name, version string) (Package, error) {
	p.reads++
	if name != "etl" {
		return Package{}, errs.E(errs.NotFound, "no such package")
	}
	if version == latestVersion {
		version = "1.0.0"
	}
	return Package{Name: name, Version: version, SHA256: "ab"}, nil
}

// A version read once comes from memory for a minute after; "latest" and a
// version not found are read every time.
func TestKnownPackages(t *testing.T) {
	ctx := context.Background()
	reads := &packageReads{}
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	k := newKnownPackages(reads, func() time.Time { return now })
	for range 3 {
		if p, err := k.FindPackage(ctx, "etl", "1.0.0"); err != nil || p.Version != "1.0.0" || p.SHA256 != "ab" {
			t.Fatalf("FindPackage = %+v, %v", p, err)
		}
	}
	if reads.reads != 1 {
		t.Fatalf("a version asked for three times was read %d times, want once", reads.reads)
	}
	for range 2 {
		if p, err := k.FindPackage(ctx, "etl", latestVersion); err != nil || p.Version != "1.0.0" {
			t.Fatalf("FindPackage(latest) = %+v, %v", p, err)
		}
		if _, err := k.FindPackage(ctx, "nope", "1.0.0"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("FindPackage of a missing package: %v", err)
		}
	}
	if reads.reads != 5 {
		t.Fatalf("%d reads, want 1 + 2 latest + 2 missing", reads.reads)
	}
	now = now.Add(knownPackageFor)
	if _, err := k.FindPackage(ctx, "etl", "1.0.0"); err != nil || reads.reads != 6 {
		t.Fatalf("a version read a minute ago: %v, %d reads; want it read again", err, reads.reads)
	}
	for i := range maxKnownPackages + 1 {
		if _, err := k.FindPackage(ctx, "etl", fmt.Sprintf("2.0.%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(k.versions); n > maxKnownPackages {
		t.Fatalf("%d versions kept, want at most %d", n, maxKnownPackages)
	}
}
