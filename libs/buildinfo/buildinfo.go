// Package buildinfo holds the version and commit stamped into every binary
// at build time (the Makefile passes
// -ldflags "-X github.com/exekra/hub/libs/buildinfo.Version=1.2.3
// -X github.com/exekra/hub/libs/buildinfo.Commit=0123456789ab").
//
// When nothing is stamped (go run, go test, a plain go build), Version is
// DevVersion and Commit, and whether the tree was modified, come from what
// the Go toolchain records of the checkout (vcs.revision, vcs.modified).
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// DevVersion is the version of a build nothing stamped.
const DevVersion = "0.0.0-dev"

// CommitLen is how many hex digits of the commit are shown.
const CommitLen = 12

// Version is this build's semantic version (without a leading v), and
// Commit the commit it was built from ("unknown" when nobody knows).
var (
	Version string
	Commit  string
)

// modified is stamped "true" when the tree had uncommitted changes.
var modified string

func init() {
	Version, Commit, modified = resolve(Version, Commit, modified, debug.ReadBuildInfo)
}

// resolve fills what ldflags left empty from the toolchain's build settings.
func resolve(version, commit, dirty string, read func() (*debug.BuildInfo, bool)) (string, string, string) {
	if version == "" {
		version = DevVersion
	}
	if commit == "" {
		commit = "unknown"
		if bi, ok := read(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value[:min(len(s.Value), CommitLen)]
				case "vcs.modified":
					dirty = s.Value
				}
			}
		}
	}
	return version, commit, dirty
}

// Dirty reports whether the build's tree had uncommitted changes.
func Dirty() bool { return modified == "true" }

// String is what the binaries print for their version: "1.2.3 (commit
// 0123456789ab)", with ", modified" when the tree was.
func String() string {
	s := Version + " (commit " + Commit
	if Dirty() {
		s += ", modified"
	}
	return s + ")"
}

// Semver is a parsed semantic version: major.minor.patch, the pre-release
// and build parts left out.
type Semver struct {
	Major, Minor, Patch int
}

// Parse reads a semantic version (an optional leading v; pre-release and
// build metadata allowed and ignored); ok is false when v is not one.
func Parse(v string) (Semver, bool) {
	v = strings.TrimPrefix(v, "v")
	core, build, hasBuild := strings.Cut(v, "+")
	if hasBuild && !validIdentifiers(build, false) {
		return Semver{}, false
	}
	core, pre, hasPre := strings.Cut(core, "-")
	if hasPre && !validIdentifiers(pre, true) {
		return Semver{}, false
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return Semver{}, false
	}
	var n [3]int
	for i, p := range parts {
		if !numeric(p) || (len(p) > 1 && p[0] == '0') || len(p) > 9 {
			return Semver{}, false
		}
		for _, c := range p {
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	return Semver{Major: n[0], Minor: n[1], Patch: n[2]}, true
}

// Valid reports whether v is a semantic version.
func Valid(v string) bool {
	_, ok := Parse(v)
	return ok
}

// validIdentifiers checks dot-separated identifiers of [0-9A-Za-z-];
// pre-release numbers have no leading zero.
func validIdentifiers(s string, pre bool) bool {
	for id := range strings.SplitSeq(s, ".") {
		if id == "" || strings.Trim(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != "" {
			return false
		}
		if pre && numeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func numeric(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
