package supervisor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ensureMetricsToken creates the metrics token file (metrics.token_file) with
// a fresh random token (32 bytes, hex) when it is missing, readable by the
// supervisor's user only, as the bus keys and Redis passwords beside it: the
// services run as that user and read it, and so must Prometheus. An existing
// file is left as it is (an operator may have rotated it); an unset key
// creates nothing, and every metrics port then refuses its scrapes.
func ensureMetricsToken(file string) (created bool, err error) {
	if file == "" {
		return false, nil
	}
	if _, err := os.Stat(file); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("metrics.token_file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return false, fmt.Errorf("metrics.token_file: %w", err)
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails; see crypto/rand
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("create the metrics token: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(b) + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Close()); err != nil {
		os.Remove(file)
		return false, fmt.Errorf("write the metrics token %s: %w", file, err)
	}
	return true, nil
}
