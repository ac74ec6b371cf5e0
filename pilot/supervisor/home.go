package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/exekra/hub/libs/config"
)

// EnsureHome prepares an install dir: on first start it writes the commented
// default settings file; it always makes logs/ and var/. Directories it
// creates get their modes exactly, whatever the umask: var/ (and the install
// dir) must be traversable by the private PostgreSQL's user. It reports
// whether it wrote the settings file.
func EnsureHome(home string) (bool, error) {
	dirs := []struct {
		path string
		mode os.FileMode
	}{{home, 0o755}, {filepath.Join(home, "config"), 0o755}, {filepath.Join(home, "logs"), 0o750}, {filepath.Join(home, "var"), 0o755}}
	for _, d := range dirs {
		if err := makeDir(d.path, d.mode); err != nil {
			return false, fmt.Errorf("install dir: %w", err)
		}
	}
	file := filepath.Join(home, config.FileName)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write the default settings: %w", err)
	}
	_, werr := f.Write(config.DefaultFile())
	if err := errors.Join(werr, f.Chmod(0o644), f.Close()); err != nil {
		os.Remove(file)
		return false, fmt.Errorf("write the default settings %s: %w", file, err)
	}
	return true, nil
}

// makeDir creates dir with exactly mode; an existing dir is left as it is.
func makeDir(dir string, mode os.FileMode) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}
