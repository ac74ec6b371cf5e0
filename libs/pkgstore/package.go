package pkgstore

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode"

	"github.com/exekra/hub/libs/errs"
)

// Package is a zip read the one way the Hub (at publish) and a runner (at
// unpack) both read it, so the manifest the Hub checked and audited is the
// manifest a runner runs.
type Package struct {
	Manifest Manifest
	Entries  []Entry // in the zip's order
}

// Entry is a file or directory of a package.
type Entry struct {
	Name string      // clean, slash-separated, relative to the package's root
	Dir  bool        // a directory; otherwise a regular file
	Perm fs.FileMode // permission bits as the zip gives them
	file *zip.File
}

// Open reads a file entry; archive/zip checks its size and CRC as it is read
// to the end.
func (e Entry) Open() (io.ReadCloser, error) { return e.file.Open() }

// ReadPackage opens the zip in r (size bytes) and checks its layout without
// reading the entries' data: the entry count and declared sizes against lim,
// every entry name (CheckEntryName), only regular files and directories, no
// two entries naming the same file on any runner (fileKey), and the manifest
// at the root, which it reads and validates.
func ReadPackage(r io.ReaderAt, size int64, lim Limits) (*Package, error) {
	lim = lim.withDefaults()
	if size > lim.MaxBytes {
		return nil, errs.Ef(errs.PayloadTooLarge, "the package exceeds %d bytes", lim.MaxBytes)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, errs.Wrap(errs.InvalidArgument, "the package is not a valid zip file", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, errs.Ef(errs.InvalidArgument, "the zip holds %d entries; at most %d are allowed", len(zr.File), lim.MaxEntries)
	}
	p := &Package{Entries: make([]Entry, 0, len(zr.File))}
	names := make(namespace, len(zr.File))
	var total uint64
	var manifest *zip.File
	for _, f := range zr.File {
		e, err := entryOf(f)
		if err != nil {
			return nil, err
		}
		if e.Name == "." {
			continue // the root directory itself, as some zip tools write it
		}
		if total += f.UncompressedSize64; total > uint64(lim.MaxUncompressed) {
			return nil, errs.Ef(errs.InvalidArgument, "the zip unpacks to more than %d bytes", lim.MaxUncompressed)
		}
		if err := names.add(e); err != nil {
			return nil, err
		}
		if e.Name == ManifestName && !e.Dir {
			manifest = f
		}
		p.Entries = append(p.Entries, e)
	}
	if manifest == nil {
		return nil, errs.E(errs.InvalidArgument, "the zip holds no exekra.json file at its root")
	}
	if p.Manifest, err = readManifest(manifest); err != nil {
		return nil, err
	}
	return p, nil
}

// ValidateZip is ReadPackage and then reads every file entry through, which
// makes archive/zip check its size and CRC, so the work is bounded by
// lim.MaxUncompressed. It returns the manifest.
func ValidateZip(r io.ReaderAt, size int64, lim Limits) (Manifest, error) {
	p, err := ReadPackage(r, size, lim)
	if err != nil {
		return Manifest{}, err
	}
	for _, e := range p.Entries {
		if err := e.verify(); err != nil {
			return Manifest{}, err
		}
	}
	return p.Manifest, nil
}

// CheckEntryName refuses a zip entry name that could escape the directory
// it is extracted into or mean another file on another system: absolute
// paths, drive letters, ".." elements, NUL, and backslashes and colons
// (Windows reads a backslash as a separator and "name:stream" as the
// file name), which a portable zip never holds.
func CheckEntryName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case name == "":
		return errs.E(errs.InvalidArgument, "the zip holds an entry without a name")
	case strings.ContainsRune(n, 0):
		return errs.E(errs.InvalidArgument, "the zip holds an entry name with NUL")
	case strings.HasPrefix(n, "/"), len(n) >= 2 && n[1] == ':':
		return errs.Ef(errs.InvalidArgument, "the zip holds an absolute path: %q", clip(name))
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return errs.Ef(errs.InvalidArgument, "the zip holds a path with \"..\": %q", clip(name))
		}
	}
	if strings.ContainsAny(name, `\:`) {
		return errs.Ef(errs.InvalidArgument, `the zip holds a name with "\" or ":", which Windows reads as another file: %q`, clip(name))
	}
	return nil
}

// entryOf checks f's name and type and gives its entry.
func entryOf(f *zip.File) (Entry, error) {
	if err := CheckEntryName(f.Name); err != nil {
		return Entry{}, err
	}
	mode := f.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return Entry{}, errs.Ef(errs.InvalidArgument, "the zip holds a symbolic link: %q", clip(f.Name))
	case !mode.IsDir() && !mode.IsRegular():
		return Entry{}, errs.Ef(errs.InvalidArgument, "the zip holds %q, which is neither a regular file nor a directory (%s)", clip(f.Name), mode.Type())
	}
	e := Entry{Name: path.Clean(f.Name), Dir: mode.IsDir(), Perm: mode.Perm(), file: f}
	if e.Name == "." && !e.Dir {
		return Entry{}, errs.Ef(errs.InvalidArgument, "the zip holds a file named %q, the package's root", clip(f.Name))
	}
	return e, nil
}

// verify reads a file entry through, which makes archive/zip check its size
// and CRC.
func (e Entry) verify() error {
	if e.Dir {
		return nil
	}
	rc, err := e.Open()
	if err != nil {
		return errs.Wrap(errs.InvalidArgument, fmt.Sprintf("zip entry %q cannot be read", clip(e.file.Name)), err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(rc, int64(e.file.UncompressedSize64)+1))
	if err == nil && uint64(n) != e.file.UncompressedSize64 {
		err = zip.ErrFormat
	}
	if err != nil {
		return errs.Wrap(errs.InvalidArgument, fmt.Sprintf("zip entry %q is corrupt", clip(e.file.Name)), err)
	}
	return nil
}

// namespace holds a package's entries by the file each names on a runner,
// to refuse two entries that would be one file there.
type namespace map[string]node

type node struct {
	name string // the entry's name in the zip; "" for a directory only implied by its contents
	dir  bool
}

// add records e, refusing it if it names a file already named, or if it is
// a file where another entry needs a directory (or the other way round).
func (ns namespace) add(e Entry) error {
	key := fileKey(e.Name)
	if prev, ok := ns[key]; ok && (prev.name != "" || !e.Dir) {
		return collision(prev.name, e.file.Name)
	}
	ns[key] = node{name: e.file.Name, dir: e.Dir}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		prev, ok := ns[dir]
		if ok && !prev.dir {
			return collision(prev.name, e.file.Name)
		}
		if ok {
			break // its parents were recorded with it
		}
		ns[dir] = node{dir: true}
	}
	return nil
}

func collision(a, b string) error {
	if a == "" {
		return errs.Ef(errs.InvalidArgument, "the zip holds %q where other entries need a directory", clip(b))
	}
	return errs.Ef(errs.InvalidArgument,
		"the zip holds %q and %q, which name the same file (after path cleaning and case folding)", clip(a), clip(b))
}

// fileKey is the file a clean entry name writes on the most lenient runner
// file system: case-insensitive (Windows, macOS) and, as on Windows, blind
// to an element's trailing dots and spaces. Every rune is replaced by the
// least rune of its Unicode simple case folding orbit (k, K and the Kelvin
// sign all become K), the comparison strings.EqualFold makes.
func fileKey(name string) string {
	elems := strings.Split(name, "/")
	for i, el := range elems {
		elems[i] = strings.Map(foldRune, strings.TrimRight(el, ". "))
	}
	return strings.Join(elems, "/")
}

func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
