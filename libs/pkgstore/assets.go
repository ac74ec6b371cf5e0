package pkgstore

import (
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// ValidateAssets checks the assets a manifest declares ("assets" in
// exekra.json): at most runners.MaxAssetsDeclared names, each an
// identifier ([A-Za-z_][A-Za-z0-9_]*, at most runners.MaxAssetNameLen
// characters), none declared twice regardless of case. The error names the
// entry and what is wrong.
func ValidateAssets(names []string) error {
	if len(names) > runners.MaxAssetsDeclared {
		return errs.Ef(errs.InvalidArgument, `exekra.json: "assets" declares %d assets; at most %d are allowed`, len(names), runners.MaxAssetsDeclared)
	}
	seen := make(map[string]string, len(names))
	for i, n := range names {
		if err := ValidAssetName(n); err != nil {
			return errs.Ef(errs.InvalidArgument, `exekra.json: asset %d (%q): %v`, i+1, clip(n), err)
		}
		key := strings.ToLower(n)
		if prev, dup := seen[key]; dup {
			if prev == n {
				return errs.Ef(errs.InvalidArgument, `exekra.json: asset %q: declared twice`, n)
			}
			return errs.Ef(errs.InvalidArgument, `exekra.json: asset %q: declared twice (as %q too; names are compared regardless of case)`, n, prev)
		}
		seen[key] = n
	}
	return nil
}

// ValidAssetName checks an asset's name: 1 to runners.MaxAssetNameLen
// characters, a letter or _ then letters, digits and _. The error is a
// phrase about the name.
func ValidAssetName(name string) error {
	if name == "" || len(name) > runners.MaxAssetNameLen {
		return fmt.Errorf("name must be 1 to %d characters", runners.MaxAssetNameLen)
	}
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && !(i > 0 && r >= '0' && r <= '9') {
			return fmt.Errorf("name must be an identifier: a letter or _ then letters, digits and _")
		}
	}
	return nil
}
