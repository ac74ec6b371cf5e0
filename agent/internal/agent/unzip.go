package agent

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
)

// Unpacking limits (zip bombs): entries and total uncompressed bytes,
// counted as written, never trusted from the headers.
const (
	defaultMaxEntries       = 10000
	defaultMaxUnpackedBytes = 2 << 30
)

// packageError is a package that cannot be unpacked or run.
type packageError struct{ msg string }

func (e *packageError) Error() string { return e.msg }

// unzipLimits bound one extraction.
type unzipLimits struct {
	maxEntries int
	maxBytes   int64
}

// unpack extracts the package at src into dir (which must exist and be
// empty) and returns its manifest. The package is read by
// pkgstore.ReadPackage, the reading the Hub checked at publish: each entry
// is written under its clean name, and the manifest returned is the entry
// the Hub validated, not whatever file ends up at dir/exekra.json.
func unpack(src, dir string, lim unzipLimits) (pkgstore.Manifest, error) {
	f, err := os.Open(src)
	if err != nil {
		return pkgstore.Manifest{}, fmt.Errorf("open package: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pkgstore.Manifest{}, fmt.Errorf("open package: %w", err)
	}
	// The zip's own size was bounded by the Hub at publish and its bytes
	// checked against their SHA-256 at download; what it unpacks to is
	// bounded here.
	p, err := pkgstore.ReadPackage(f, st.Size(), pkgstore.Limits{MaxBytes: st.Size(),
		MaxEntries: lim.maxEntries, MaxUncompressed: lim.maxBytes})
	if err != nil {
		_, msg := errs.Public(err)
		return pkgstore.Manifest{}, &packageError{msg}
	}
	budget := lim.maxBytes
	for _, e := range p.Entries {
		target := filepath.Join(dir, filepath.FromSlash(e.Name))
		if e.Dir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return pkgstore.Manifest{}, err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return pkgstore.Manifest{}, err
		}
		n, err := writeEntry(e, target, budget)
		if err != nil {
			return pkgstore.Manifest{}, err
		}
		budget -= n
	}
	return p.Manifest, nil
}

// writeEntry writes e to target, at most budget bytes; it returns the bytes
// written. The file must not exist: entry names are unique, so an existing
// file means something else wrote it, and it is not overwritten.
func writeEntry(e pkgstore.Entry, target string, budget int64) (int64, error) {
	rc, err := e.Open()
	if err != nil {
		return 0, &packageError{fmt.Sprintf("the package entry %q is unreadable: %v", e.Name, err)}
	}
	defer rc.Close()
	perm := e.Perm&0o755 | 0o600
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, &packageError{fmt.Sprintf("the package entry %q is unreadable: %v", e.Name, err)}
	}
	if n > budget {
		return n, &packageError{"the package unpacks to more than the size allowed"}
	}
	return n, nil
}
