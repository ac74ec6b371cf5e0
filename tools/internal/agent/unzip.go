package agent

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Unpacking limits (zip bombs): entries and total uncompressed bytes,
// counted as written, never trusted from the headers.
const (
	defaultMaxEntries       = 10000
	defaultMaxUnpackedBytes = 2 << 30
	manifestName            = "exekra.json"
)

// manifest is a package's exekra.json.
type manifest struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Entrypoint []string `json:"entrypoint"`
}

// unzipLimits bound one extraction.
type unzipLimits struct {
	maxEntries int
	maxBytes   int64
}

// unzip extracts the zip at src into dir (which must exist), refusing
// absolute paths, "..", symbolic links leading out of dir and archives past lim.
func unzip(src, dir string, lim unzipLimits) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return &packageError{fmt.Sprintf("the package is not a readable zip: %v", err)}
	}
	defer zr.Close()
	if len(zr.File) > lim.maxEntries {
		return &packageError{fmt.Sprintf("the package has %d entries, more than the %d allowed", len(zr.File), lim.maxEntries)}
	}
	budget := lim.maxBytes
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, "/")
		if name == "" || strings.Contains(f.Name, `\`) || !filepath.IsLocal(filepath.FromSlash(name)) {
			return &packageError{fmt.Sprintf("the package holds an unsafe path %q (absolute, \"..\" or outside the package)", f.Name)}
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case mode&os.ModeSymlink != 0:
			link, err := readSmall(f, 4096)
			if err != nil {
				return err
			}
			dest := filepath.Join(filepath.Dir(filepath.FromSlash(name)), filepath.FromSlash(link))
			if filepath.IsAbs(link) || !filepath.IsLocal(dest) {
				return &packageError{fmt.Sprintf("the package holds a symbolic link %q -> %q leading out of the package", f.Name, link)}
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			return &packageError{fmt.Sprintf("the package holds %q, neither a file, a directory nor a link", f.Name)}
		}
		if err := inside(dir, filepath.Dir(target)); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		n, err := writeEntry(f, target, budget)
		if err != nil {
			return err
		}
		budget -= n
	}
	return nil
}

// inside checks that p, with links resolved, stays within dir (a link
// earlier in the archive must not carry later files out).
func inside(dir, p string) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	// p may not exist yet: resolve its longest existing ancestor.
	rest := ""
	for {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = filepath.Dir(p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, filepath.Join(real, rest))
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return &packageError{"the package writes through a link out of its directory"}
	}
	return nil
}

func readSmall(f *zip.File, max int64) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", &packageError{fmt.Sprintf("the package entry %q is unreadable: %v", f.Name, err)}
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(rc, max+1)); err != nil {
		return "", &packageError{fmt.Sprintf("the package entry %q is unreadable: %v", f.Name, err)}
	}
	if int64(b.Len()) > max {
		return "", &packageError{fmt.Sprintf("the package entry %q is too long for a link", f.Name)}
	}
	return b.String(), nil
}

// writeEntry writes f to target, at most budget bytes; it returns the bytes written.
func writeEntry(f *zip.File, target string, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, &packageError{fmt.Sprintf("the package entry %q is unreadable: %v", f.Name, err)}
	}
	defer rc.Close()
	perm := f.Mode().Perm()&0o755 | 0o600
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, &packageError{fmt.Sprintf("the package entry %q is unreadable: %v", f.Name, err)}
	}
	if n > budget {
		return n, &packageError{"the package unpacks to more than the size allowed"}
	}
	return n, nil
}

// readManifest reads and checks exekra.json in dir.
func readManifest(dir string) (manifest, error) {
	var m manifest
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return m, &packageError{"the package has no " + manifestName}
	}
	if err != nil {
		return m, err
	}
	if len(data) > 1<<20 {
		return m, &packageError{manifestName + " is larger than 1 MiB"}
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, &packageError{fmt.Sprintf("%s is unreadable: %v", manifestName, err)}
	}
	if len(m.Entrypoint) == 0 || strings.TrimSpace(m.Entrypoint[0]) == "" {
		return m, &packageError{manifestName + " has no entrypoint"}
	}
	return m, nil
}
