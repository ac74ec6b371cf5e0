package pkgstore

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// ManifestName is the manifest every package holds at the root of its zip.
const ManifestName = "exekra.json"

// Default limits of a package.
const (
	DefaultMaxBytes        = 100 << 20 // a package's zip
	DefaultMaxEntries      = 10000     // entries of the zip
	DefaultMaxUncompressed = 1 << 30   // total uncompressed bytes
	MaxManifestBytes       = 64 << 10
	MaxEntrypointArgs      = 64
)

// Limits bound a package; zero fields take the defaults.
type Limits struct {
	MaxBytes        int64
	MaxEntries      int
	MaxUncompressed int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxUncompressed <= 0 {
		l.MaxUncompressed = DefaultMaxUncompressed
	}
	return l
}

// Manifest is exekra.json; unknown fields are ignored.
type Manifest struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Entrypoint []string `json:"entrypoint"`
	// Parameters the package takes (ValidateParameters); nil when the
	// manifest declares none, and then a job may carry any parameters.
	Parameters []runners.Parameter `json:"parameters"`
	// Assets names the assets a job of the package receives
	// (ValidateAssets); nil when the manifest declares none.
	Assets []string `json:"assets"`
}

// Validate checks the manifest's fields.
func (m Manifest) Validate() error {
	if err := ValidName(m.Name); err != nil {
		return err
	}
	if err := ValidVersion(m.Version); err != nil {
		return err
	}
	if len(m.Entrypoint) == 0 || strings.TrimSpace(m.Entrypoint[0]) == "" {
		return errs.E(errs.InvalidArgument, `exekra.json: "entrypoint" must name a program: ["program", "arg", ...]`)
	}
	if len(m.Entrypoint) > MaxEntrypointArgs {
		return errs.Ef(errs.InvalidArgument, `exekra.json: "entrypoint" holds at most %d items`, MaxEntrypointArgs)
	}
	for _, a := range m.Entrypoint {
		if strings.ContainsRune(a, 0) {
			return errs.E(errs.InvalidArgument, `exekra.json: "entrypoint" items must not contain NUL`)
		}
	}
	if err := ValidateParameters(m.Parameters); err != nil {
		return err
	}
	return ValidateAssets(m.Assets)
}

func readManifest(f *zip.File) (Manifest, error) {
	if f.UncompressedSize64 > MaxManifestBytes {
		return Manifest{}, errs.Ef(errs.InvalidArgument, "exekra.json exceeds %d bytes", MaxManifestBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return Manifest{}, errs.Wrap(errs.InvalidArgument, "exekra.json cannot be read", err)
	}
	defer rc.Close()
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(rc, MaxManifestBytes))
	if err := dec.Decode(&m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && strings.HasPrefix(typeErr.Field, "parameters") {
			return Manifest{}, errs.Wrap(errs.InvalidArgument, `exekra.json: "parameters" must be an array of {"name","type","required","default","description","enum"}`+
				` with a string name, type and description, a boolean required and an array enum`, err)
		}
		if errors.As(err, &typeErr) && strings.HasPrefix(typeErr.Field, "assets") {
			return Manifest{}, errs.Wrap(errs.InvalidArgument, `exekra.json: "assets" must be an array of asset names: ["name", ...]`, err)
		}
		return Manifest{}, errs.Wrap(errs.InvalidArgument, `exekra.json is not a JSON object {"name","version","entrypoint"}`, err)
	}
	// Exactly one JSON value: bytes after it are a second reading waiting
	// for a lenient parser.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Manifest{}, errs.E(errs.InvalidArgument, "exekra.json holds more than one JSON value")
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Spooled is an upload written to a temporary file, with its SHA-256.
type Spooled struct {
	File   *os.File
	SHA256 string // lower-case hex
	Size   int64
}

// Close closes and removes the temporary file.
func (s *Spooled) Close() error {
	if s == nil || s.File == nil {
		return nil
	}
	name := s.File.Name()
	err := s.File.Close()
	if rerr := os.Remove(name); err == nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	return err
}

// Rewind puts the file back at its start.
func (s *Spooled) Rewind() error {
	_, err := s.File.Seek(0, io.SeekStart)
	return err
}

// Spool copies r into a temporary file in dir ("" is os.TempDir), hashing
// it as it goes, and never holds more than a copy buffer in memory. More
// than max bytes is payload_too_large (the file is removed). The caller
// closes the result. An error from r that says the request body was too
// large (http.MaxBytesError) is passed through as payload_too_large too.
func Spool(r io.Reader, dir string, max int64) (*Spooled, error) {
	if max <= 0 {
		max = DefaultMaxBytes
	}
	f, err := os.CreateTemp(dir, "exekra-package-*.zip")
	if err != nil {
		return nil, fmt.Errorf("spool package: %w", err)
	}
	s := &Spooled{File: f}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, max+1))
	if err == nil && n > max {
		err = errs.Ef(errs.PayloadTooLarge, "the package exceeds %d bytes", max)
	}
	if err != nil {
		s.Close()
		if isTooLarge(err) {
			return nil, errs.Ef(errs.PayloadTooLarge, "the package exceeds %d bytes", max)
		}
		var known *errs.Error
		if errors.As(err, &known) {
			return nil, err
		}
		return nil, errs.Wrap(errs.InvalidArgument, "the upload could not be read", err)
	}
	s.Size, s.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	if err := s.Rewind(); err != nil {
		s.Close()
		return nil, fmt.Errorf("spool package: %w", err)
	}
	return s, nil
}

func isTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}
