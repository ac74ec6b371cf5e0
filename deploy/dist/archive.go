package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// entry is one file of an archive: its path inside it, its mode and where its
// bytes come from.
type entry struct {
	name string // slash-separated, relative
	mode os.FileMode
	src  string // a file on disk
}

// writeArchive writes entries, sorted by name, to path as a .zip or a .tar.gz
// (by its suffix). Every header is fixed: mtime, owner root:root (uid/gid 0),
// the entry's mode; gzip carries no name and no timestamp.
func writeArchive(path string, entries []entry, mtime time.Time) (err error) {
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	if strings.HasSuffix(path, ".zip") {
		return writeZip(f, entries, mtime)
	}
	return writeTarGz(f, entries, mtime)
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(e.mode)
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", e.name, err)
		}
		if err := copyFile(dst, e.src); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	return nil
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		info, err := os.Stat(e.src)
		if err != nil {
			return fmt.Errorf("stat %s: %w", e.src, err)
		}
		h := &tar.Header{
			Typeflag: tar.TypeReg, Name: e.name, Size: info.Size(), Mode: int64(e.mode.Perm()),
			ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
		if err := copyFile(tw, e.src); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	return nil
}

func copyFile(dst io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer f.Close()
	if _, err := io.Copy(dst, f); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// globEntries are the files matching pattern under the repository root, put
// under dir in the archive with mode 0644.
func (r *release) globEntries(pattern, dir string) ([]entry, error) {
	matches, err := filepath.Glob(filepath.Join(r.root, pattern))
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	var out []entry
	for _, m := range matches {
		out = append(out, entry{name: joinName(dir, filepath.Base(m)), mode: 0o644, src: m})
	}
	return out, nil
}

func joinName(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
