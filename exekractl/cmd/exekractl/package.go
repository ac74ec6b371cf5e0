package main

import (
	"archive/zip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/hubclient"
	"github.com/exekra/hub/libs/pkgstore"
)

// hubFlags are the flags every command that talks to the Hub takes.
type hubFlags struct {
	hub, tokenFile, ca, fingerprint string
}

func addHubFlags(fs *flag.FlagSet, role string) *hubFlags {
	h := &hubFlags{}
	fs.StringVar(&h.hub, "hub", "https://127.0.0.1:8443", "the Hub's URL")
	fs.StringVar(&h.tokenFile, "token-file", "", "file holding a "+role+" session or API token (default: $"+envToken+")")
	fs.StringVar(&h.ca, "ca", "", "CA certificate (PEM) to trust for the Hub")
	fs.StringVar(&h.fingerprint, "fingerprint", "", "SHA-256 fingerprint of the Hub's certificate to pin")
	return h
}

func (h *hubFlags) client() (*hubclient.Client, error) {
	token, err := readToken(h.tokenFile)
	if err != nil {
		return nil, err
	}
	return hubclient.New(h.hub, token, hubclient.Options{CAFile: h.ca, Fingerprint: h.fingerprint})
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runPackage(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "publish" {
		return errors.New("package needs a subcommand: publish <dir|zip>")
	}
	fs := flag.NewFlagSet("exekractl package publish", flag.ContinueOnError)
	hf := addHubFlags(fs, "DEVELOPER (or ADMIN)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: exekractl package publish <dir|zip> [--hub URL --token-file FILE --ca FILE|--fingerprint SHA256]")
	}
	// Build and check the package before reading the token or connecting:
	// a bad package is reported without touching the Hub.
	f, name, cleanup, err := openPackage(pos[0])
	if err != nil {
		return err
	}
	defer cleanup()
	m, err := checkPackage(f)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	c, err := hf.client()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var pkg runners.Package
	if err := c.Upload("/api/v1/packages", "package", name, f, &pkg); err != nil {
		var api *hubclient.APIError
		if errors.As(err, &api) && api.Status == 409 {
			return fmt.Errorf("%s %s is already published (packages are immutable: raise the version): %w", m.Name, m.Version, err)
		}
		return fmt.Errorf("publish %s %s: %w", m.Name, m.Version, err)
	}
	fmt.Fprintf(stdout, "published %s %s\nsha256 %s\nsize   %d bytes\n", pkg.Name, pkg.Version, pkg.SHA256, pkg.SizeBytes)
	return nil
}

// openPackage returns the zip to upload: path itself when it is a file, or
// a temporary zip of it when it is a directory (cleanup removes it).
func openPackage(path string) (f *os.File, uploadName string, cleanup func(), err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", nil, err
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", nil, err
		}
		return f, filepath.Base(path), func() { f.Close() }, nil
	}
	tmp, err := os.CreateTemp("", "exekractl-package-*.zip")
	if err != nil {
		return nil, "", nil, err
	}
	cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
	if err := zipDir(path, tmp); err != nil {
		cleanup()
		return nil, "", nil, err
	}
	base := filepath.Base(filepath.Clean(path))
	if abs, err := filepath.Abs(path); err == nil {
		base = filepath.Base(abs)
	}
	return tmp, base + ".zip", cleanup, nil
}

// checkPackage runs the Hub's own checks of a package on f.
func checkPackage(f *os.File) (pkgstore.Manifest, error) {
	st, err := f.Stat()
	if err != nil {
		return pkgstore.Manifest{}, err
	}
	m, err := pkgstore.ValidateZip(f, st.Size(), pkgstore.Limits{})
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			msg := e.Message
			if e.Err != nil {
				msg += ": " + e.Err.Error()
			}
			return m, fmt.Errorf("not a valid package: %s", msg)
		}
		return m, fmt.Errorf("not a valid package: %w", err)
	}
	return m, nil
}

// zipDir writes the files under dir to w as a zip, deterministically: the
// entries are in sorted order with no timestamps, their modes are 0755
// (when any executable bit is set) or 0644, and the same tree always gives
// the same bytes. dir must hold exekra.json at its root; symbolic links and
// other non-regular files are refused.
func zipDir(dir string, w io.Writer) error {
	st, err := os.Lstat(filepath.Join(dir, pkgstore.ManifestName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s holds no %s at its root", dir, pkgstore.ManifestName)
		}
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s in %s is not a regular file", pkgstore.ManifestName, dir)
	}
	type entry struct {
		name string // slash-separated, relative; directories end in "/"
		path string
		exec bool
	}
	var entries []entry
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		if err := pkgstore.CheckEntryName(name); err != nil {
			return err
		}
		switch {
		case d.IsDir():
			entries = append(entries, entry{name: name + "/", path: path})
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: name, path: path, exec: info.Mode().Perm()&0o111 != 0})
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: packages cannot hold links", path)
		default:
			return fmt.Errorf("%s is not a regular file", path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	zw := zip.NewWriter(w)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: zipEpoch}
		switch {
		case strings.HasSuffix(e.name, "/"):
			hdr.Method = zip.Store
			hdr.SetMode(fs.ModeDir | 0o755)
		case e.exec:
			hdr.SetMode(0o755)
		default:
			hdr.SetMode(0o644)
		}
		zf, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if hdr.Method == zip.Store {
			continue
		}
		if err := copyFile(zf, e.path); err != nil {
			return err
		}
	}
	return zw.Close()
}

// zipEpoch is the fixed time of every entry, so that zips are reproducible.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
