// Command exekra-dist builds the release files of Exekra Hub into one directory
// (`make dist`): the Hub and runner archives for Linux and Windows, the Debian
// packages, a CycloneDX SBOM per archive and SHA256SUMS over all of them.
//
// Every output is reproducible: the programs are built with -trimpath,
// CGO_ENABLED=0 and -buildvcs=false, and every timestamp written (archive
// entries, package files, SBOM) is SOURCE_DATE_EPOCH, the last commit's time.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// release is what one `make dist` run builds.
type release struct {
	root    string    // the repository checkout
	out     string    // where the release files go
	work    string    // scratch space: built programs, per-binary SBOMs
	version string    // the release version, e.g. 0.1.0
	ldflags string    // the Makefile's LDFLAGS
	epoch   time.Time // SOURCE_DATE_EPOCH
	// packages are the programs' Go packages (the Makefile's BINARIES).
	packages packagesFlag
	bins     map[platform]string // each platform's built programs
}

func main() {
	var r release
	flag.StringVar(&r.root, "root", "../..", "the repository checkout")
	flag.StringVar(&r.out, "out", "../../dist", "the directory the release files are written to (emptied first)")
	flag.StringVar(&r.version, "version", "", "the release version")
	flag.StringVar(&r.ldflags, "ldflags", "", "linker flags for every program (the Makefile's LDFLAGS)")
	flag.Var(&r.packages, "packages", "the programs' Go packages, blank-separated (the Makefile's BINARIES)")
	flag.Parse()
	r.bins = map[platform]string{}
	if err := run(&r); err != nil {
		slog.Error("dist failed", "err", err)
		os.Exit(1)
	}
}

func run(r *release) error {
	if r.version == "" {
		return fmt.Errorf("-version is required")
	}
	if len(r.packages) == 0 {
		return fmt.Errorf("-packages is required")
	}
	var err error
	if r.root, err = filepath.Abs(r.root); err != nil {
		return fmt.Errorf("root: %w", err)
	}
	if r.out, err = filepath.Abs(r.out); err != nil {
		return fmt.Errorf("out: %w", err)
	}
	if r.epoch, err = sourceDateEpoch(); err != nil {
		return err
	}
	if r.work, err = os.MkdirTemp("", "exekra-dist-"); err != nil {
		return fmt.Errorf("scratch dir: %w", err)
	}
	defer os.RemoveAll(r.work)
	if err := os.RemoveAll(r.out); err != nil {
		return fmt.Errorf("empty %s: %w", r.out, err)
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", r.out, err)
	}
	var artifacts []string
	for _, p := range platforms {
		names, err := r.platform(p)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", p.os, p.arch, err)
		}
		artifacts = append(artifacts, names...)
	}
	debs, err := r.debs()
	if err != nil {
		return err
	}
	artifacts = append(artifacts, debs...)
	if err := writeSums(r.out, artifacts); err != nil {
		return err
	}
	slog.Info("dist written", "dir", r.out, "files", len(artifacts)+1, "version", r.version)
	return nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (the Makefile sets it from the last
// commit); every timestamp in the release files is this one.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH is not set (git log -1 --format=%%ct)")
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}
