package pgcluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// loadOrCreatePassword reads the role's password, or makes a new random one
// (256 bits, hex) and stores it readable by the supervisor's user only.
// fresh reports a new password.
func loadOrCreatePassword(path string) (pw string, fresh bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		pw = strings.TrimSpace(string(data))
		if pw == "" {
			return "", false, fmt.Errorf("%s is empty: delete it to have a new password generated", path)
		}
		return pw, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read the private PostgreSQL password: %w", err)
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails; see crypto/rand
	pw = hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("store the private PostgreSQL password: %w", err)
	}
	return pw, true, nil
}
