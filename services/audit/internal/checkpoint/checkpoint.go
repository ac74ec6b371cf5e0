// Package checkpoint signs the log's head periodically with the
// installation's Ed25519 key, so an exported checkpoint proves that a later
// log still holds everything up to it.
package checkpoint

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
)

// Store is where the head is read and checkpoints are kept.
type Store interface {
	Head(ctx context.Context) (int64, string, error)
	SaveCheckpoint(ctx context.Context, c audit.Checkpoint) error
}

// LoadKey reads the base64 Ed25519 seed in path, creating it (0600) when absent.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("generate checkpoint key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("checkpoint key dir: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(seed) + "\n"
		if err := os.WriteFile(path, []byte(enc), 0o600); err != nil {
			return nil, fmt.Errorf("write checkpoint key: %w", err)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint key: %w", err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("checkpoint key %s is not a base64 Ed25519 seed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Sign makes a checkpoint of seq and hash.
func Sign(key ed25519.PrivateKey, seq int64, hash string, at time.Time) audit.Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	sig := ed25519.Sign(key, audit.CheckpointPayload(seq, hash, at))
	return audit.Checkpoint{Seq: seq, Hash: hash, At: at,
		PublicKey: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)),
		Signature: base64.StdEncoding.EncodeToString(sig)}
}

// Run takes a checkpoint every interval when the head has moved.
func Run(ctx context.Context, store Store, key ed25519.PrivateKey, interval time.Duration, log *slog.Logger) {
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		seq, hash, err := store.Head(ctx)
		if err != nil || seq == 0 || seq == last {
			continue
		}
		if err := store.SaveCheckpoint(ctx, Sign(key, seq, hash, time.Now())); err != nil {
			log.Warn("audit checkpoint", "err", err)
			continue
		}
		last = seq
	}
}
