package redisdb

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// User is a Redis ACL user of the Hub: each process that uses Redis logs in
// as its own, and may touch only its own keys.
type User string

// The Hub's Redis users. Hub is the supervisor's readiness probe; Admin is
// the operator's (redis-cli, tests that flush), the only one with every key
// and command.
const (
	Identity User = "identity"
	Runners  User = "runners"
	Gateway  User = "gateway"
	Hub      User = "hub"
	Admin    User = "admin"
)

// Users lists every user, in the order the ACL file names them.
var Users = []User{Identity, Runners, Gateway, Hub, Admin}

// rules is what each user may do: key patterns and command categories.
// @dangerous (FLUSHALL, CONFIG, KEYS, DEBUG, MONITOR, ...) is the admin's alone.
var rules = map[User]string{
	Identity: "~exekra:identity:* +@all -@dangerous",
	Runners:  "~exekra:{jobs}:* ~exekra:runners:* +@all -@dangerous",
	Gateway:  "-@all +ping",
	Hub:      "-@all +ping",
	Admin:    "~* &* +@all",
}

// PasswordFile is where u's password lives in a credentials directory.
func PasswordFile(dir string, u User) string {
	return filepath.Join(dir, "redis-"+string(u)+".password")
}

// Password reads u's password from a credentials directory.
func Password(dir string, u User) (string, error) {
	raw, err := os.ReadFile(PasswordFile(dir, u))
	if err != nil {
		return "", fmt.Errorf("Redis password: %w", err)
	}
	pw := strings.TrimSpace(string(raw))
	if pw == "" {
		return "", fmt.Errorf("Redis password %s is empty", PasswordFile(dir, u))
	}
	return pw, nil
}

// EnsureACL creates dir (0700) and a password file (0600) for every user
// that has none, then, unless aclFile is "", writes aclFile (0600): the
// default user off, and each Hub user with the SHA-256 of its password and
// its rules. redis-server reads it with --aclfile.
func EnsureACL(dir, aclFile string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials dir: %w", err)
	}
	var acl bytes.Buffer
	acl.WriteString("user default off resetkeys resetchannels -@all\n")
	for _, u := range Users {
		pw, err := Password(dir, u)
		if errors.Is(err, fs.ErrNotExist) {
			pw, err = createPassword(PasswordFile(dir, u))
		}
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(pw))
		fmt.Fprintf(&acl, "user %s on #%s resetchannels %s\n", u, hex.EncodeToString(sum[:]), rules[u])
	}
	if aclFile == "" {
		return nil
	}
	tmp := aclFile + ".tmp"
	os.Remove(tmp) // a leftover of a failed write may have other permissions
	if err := os.WriteFile(tmp, acl.Bytes(), 0o600); err != nil {
		return fmt.Errorf("Redis ACL file: %w", err)
	}
	if err := os.Rename(tmp, aclFile); err != nil {
		return fmt.Errorf("Redis ACL file: %w", err)
	}
	return nil
}

// createPassword writes a new random password to file, readable by its owner only.
func createPassword(file string) (string, error) {
	b := make([]byte, 24)
	rand.Read(b)
	pw := hex.EncodeToString(b)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create Redis password: %w", err)
	}
	_, werr := f.WriteString(pw + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write Redis password %s: %w", file, err)
	}
	return pw, nil
}
