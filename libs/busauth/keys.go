package busauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// SeedFile is where p's NKey seed lives in a credentials directory.
func SeedFile(dir string, p Principal) string { return filepath.Join(dir, "nats-"+string(p)+".nk") }

// EnsureKeys creates dir (0700) and a seed file (0600) for every principal
// that has none, and returns each principal's public key.
func EnsureKeys(dir string) (map[Principal]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("credentials dir: %w", err)
	}
	keys := make(map[Principal]string, len(Principals))
	for _, p := range Principals {
		file := SeedFile(dir, p)
		pub, err := PublicKey(file)
		if errors.Is(err, fs.ErrNotExist) {
			pub, err = createSeed(file)
		}
		if err != nil {
			return nil, err
		}
		keys[p] = pub
	}
	return keys, nil
}

// createSeed writes a new user seed to file, readable by its owner only.
func createSeed(file string) (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("create NATS key %s: %w", file, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return "", fmt.Errorf("create NATS key %s: %w", file, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("create NATS key %s: %w", file, err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create NATS key: %w", err)
	}
	_, werr := f.Write(append(seed, '\n'))
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write NATS key %s: %w", file, err)
	}
	return pub, nil
}

// PublicKey reads a seed file and returns its public key.
func PublicKey(file string) (string, error) {
	kp, err := readSeed(file)
	if err != nil {
		return "", err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("NATS key %s: %w", file, err)
	}
	return pub, nil
}

func readSeed(file string) (nkeys.KeyPair, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("NATS key: %w", err)
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(raw))))
	if err != nil {
		// The error names no part of the seed.
		return nil, fmt.Errorf("NATS key %s is not an NKey user seed: %w", file, err)
	}
	return kp, nil
}

// ClientOptions are the connection options of principal p whose seed is in
// the credentials directory dir (SeedFile): its NKey and its own inbox prefix. A missing seed file connects
// without a key (a NATS server that requires one refuses the connection,
// which is the server's decision, not the client's); authenticated is false
// then, so the caller can say so.
func ClientOptions(p Principal, dir string) (opts []nats.Option, authenticated bool, err error) {
	opts = []nats.Option{nats.CustomInboxPrefix(p.InboxPrefix())}
	seedFile := SeedFile(dir, p)
	if _, err := os.Stat(seedFile); errors.Is(err, fs.ErrNotExist) {
		return opts, false, nil
	}
	kp, err := readSeed(seedFile)
	if err != nil {
		return nil, false, err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, false, fmt.Errorf("NATS key %s: %w", seedFile, err)
	}
	return append(opts, nats.Nkey(pub, kp.Sign)), true, nil
}
