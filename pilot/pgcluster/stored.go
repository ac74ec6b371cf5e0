package pgcluster

import (
	"fmt"
	"os"
	"strings"
)

// StoredURL is the services' connection string of the existing cluster of
// varDir listening on listen, with the password the supervisor stored in
// var/pg-password. Unlike Prepare it creates nothing: it is how a tool
// (exekractl backup) reaches a running pilot's private cluster. It holds the
// password: never log it.
func StoredURL(varDir, listen string) (string, error) {
	c, err := New(Config{VarDir: varDir, Listen: listen})
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(c.passwordFile)
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL password: %w (has the Hub run in this install dir?)", err)
	}
	if c.password = strings.TrimSpace(string(data)); c.password == "" {
		return "", fmt.Errorf("private PostgreSQL password file %s is empty", c.passwordFile)
	}
	return c.URL(), nil
}
