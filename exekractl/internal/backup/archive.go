package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// staged is a member waiting in the staging directory.
type staged struct {
	name string // archive member name
	file string // where its bytes are
	mode os.FileMode
}

// hashFile returns the size and SHA-256 (hex) of a file.
func hashFile(file string) (int64, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// writeArchive writes the manifest, then every member, as a gzipped tar to
// out: mode 0600 (it holds secrets), written beside out and linked into
// place, so a half-written archive never carries the final name and an
// existing file is never replaced.
func writeArchive(out string, m *Manifest, members []staged) (int64, error) {
	m.Members = m.Members[:0]
	for _, s := range members {
		size, sum, err := hashFile(s.file)
		if err != nil {
			return 0, fmt.Errorf("archive member %s: %w", s.name, err)
		}
		m.Members = append(m.Members, Member{Name: s.name, Size: size, SHA256: sum, Mode: uint32(s.mode.Perm())})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".exekra-backup-*.tar.gz")
	if err != nil {
		return 0, fmt.Errorf("write the archive: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, fmt.Errorf("write the archive: %w", err)
	}
	gz := gzip.NewWriter(tmp)
	tw := tar.NewWriter(gz)
	if err := addBytes(tw, ManifestName, manifest, m.CreatedAt); err != nil {
		return 0, err
	}
	for i, s := range members {
		if err := addFile(tw, s, m.Members[i], m.CreatedAt); err != nil {
			return 0, err
		}
	}
	if err := errors.Join(tw.Close(), gz.Close(), tmp.Sync(), tmp.Close()); err != nil {
		return 0, fmt.Errorf("write the archive: %w", err)
	}
	if err := os.Link(tmp.Name(), out); err != nil {
		// A file system without hard links: rename, which replaces, so look first.
		if errors.Is(err, fs.ErrExist) {
			return 0, fmt.Errorf("write the archive: %w", err)
		}
		if _, serr := os.Lstat(out); serr == nil {
			return 0, fmt.Errorf("write the archive: %s exists", out)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return 0, fmt.Errorf("write the archive: %w", err)
		}
	}
	info, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func addBytes(tw *tar.Writer, name string, data []byte, at time.Time) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write the archive: %w", err)
	}
	_, err := tw.Write(data)
	return err
}

// addFile copies a staged file, checking it is still what was hashed.
func addFile(tw *tar.Writer, s staged, m Member, at time.Time) error {
	f, err := os.Open(s.file)
	if err != nil {
		return fmt.Errorf("archive member %s: %w", s.name, err)
	}
	defer f.Close()
	hdr := &tar.Header{Name: s.name, Mode: int64(m.Mode), Size: m.Size, ModTime: at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write the archive: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), f); err != nil {
		return fmt.Errorf("archive member %s: %w", s.name, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return fmt.Errorf("archive member %s changed while the archive was written", s.name)
	}
	return nil
}

// checkMemberName refuses a name that could escape the directory it is
// extracted into or that no backup writes.
func checkMemberName(name string) error {
	clean := path.Clean(name)
	switch {
	case clean != name, path.IsAbs(name), name == "..", strings.HasPrefix(name, "../"), strings.Contains(name, "\x00"):
		return fmt.Errorf("archive member %q: not a clean relative path", name)
	case !strings.HasPrefix(name, dirDatabase) && !strings.HasPrefix(name, dirPackages) && !strings.HasPrefix(name, dirHome):
		return fmt.Errorf("archive member %q is not part of a Hub backup", name)
	}
	return nil
}

// readArchive extracts file into dir and checks it against its manifest:
// the manifest comes first, every member is listed in it with its size and
// SHA-256, none is missing and none is extra.
func readArchive(file, dir string) (*Manifest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Hub backup (not gzip): %w", file, err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestName {
		return nil, fmt.Errorf("%s is not a Hub backup: it does not start with %s", file, ManifestName)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, 64<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: unreadable manifest: %w", file, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s: archive format %q, this exekractl reads %q", file, m.Format, Format)
	}
	want := map[string]Member{}
	for _, mem := range m.Members {
		if err := checkMemberName(mem.Name); err != nil {
			return nil, err
		}
		want[mem.Name] = mem
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (truncated or damaged?)", file, err)
		}
		mem, ok := want[hdr.Name]
		if !ok || hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s: member %q is not in the manifest (or seen twice)", file, hdr.Name)
		}
		delete(want, hdr.Name)
		if err := extract(tr, filepath.Join(dir, filepath.FromSlash(hdr.Name)), mem); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	for name := range want {
		return nil, fmt.Errorf("%s: member %s of the manifest is missing (truncated?)", file, name)
	}
	return &m, nil
}

func extract(r io.Reader, dest string, mem Member) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, mem.Size+1))
	if err != nil {
		return fmt.Errorf("member %s: %w", mem.Name, err)
	}
	if n != mem.Size || hex.EncodeToString(h.Sum(nil)) != mem.SHA256 {
		return fmt.Errorf("member %s does not match its SHA-256 in the manifest: the archive is damaged or was altered", mem.Name)
	}
	if err := f.Chmod(os.FileMode(mem.Mode).Perm()); err != nil { // the file's own mode, inside a 0700 directory
		return err
	}
	return f.Close()
}

// memberFile is where an extracted member is.
func memberFile(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
