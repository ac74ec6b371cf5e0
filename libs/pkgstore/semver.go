package pkgstore

import (
	"regexp"
	"strings"

	"github.com/exekra/hub/libs/errs"
)

// semverRE is the regular expression of semver.org 2.0.0 (no leading "v").
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// MaxVersionLen bounds a version's length.
const MaxVersionLen = 128

// ValidVersion checks that v is a strict semantic version (1.2.3, 1.0.0-rc.1+build.5).
func ValidVersion(v string) error {
	if len(v) > MaxVersionLen || !semverRE.MatchString(v) {
		return errs.Ef(errs.InvalidArgument, "version %q is not a semantic version such as 1.2.3", clip(v))
	}
	return nil
}

// nameRE is a package name.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidName checks a package name: [a-z0-9][a-z0-9._-]{0,63}.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return errs.Ef(errs.InvalidArgument,
			"package name %q must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", clip(name))
	}
	return nil
}

// CompareVersions orders two valid semantic versions by precedence
// (build metadata ignored): -1, 0 or +1. Invalid versions sort before valid
// ones and among themselves by string.
func CompareVersions(a, b string) int {
	ma, mb := semverRE.FindStringSubmatch(a), semverRE.FindStringSubmatch(b)
	switch {
	case ma == nil && mb == nil:
		return strings.Compare(a, b)
	case ma == nil:
		return -1
	case mb == nil:
		return 1
	}
	for i := 1; i <= 3; i++ {
		if c := compareNumeric(ma[i], mb[i]); c != 0 {
			return c
		}
	}
	pa, pb := ma[4], mb[4]
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1 // a release outranks its pre-releases
	case pb == "":
		return -1
	}
	fa, fb := strings.Split(pa, "."), strings.Split(pb, ".")
	for i := 0; i < len(fa) && i < len(fb); i++ {
		if c := compareIdent(fa[i], fb[i]); c != 0 {
			return c
		}
	}
	return cmpInt(len(fa), len(fb))
}

// compareNumeric compares decimal strings without leading zeros of any length.
func compareNumeric(a, b string) int {
	if c := cmpInt(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func compareIdent(a, b string) int {
	na, nb := isDigits(a), isDigits(b)
	switch {
	case na && nb:
		return compareNumeric(a, b)
	case na:
		return -1 // numeric identifiers have lower precedence
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
