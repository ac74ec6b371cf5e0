package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// Audit actions of the registry.
const (
	ActionRegister         = "runner.register"
	ActionDelete           = "runner.delete"
	ActionSecretRegenerate = "runner.secret_regenerate"
	ActionAuthFailure      = "runner.auth_failure"
)

// newSecret returns a machine secret (exk_ms_ + 256 random bits, base64url)
// and its SHA-256, the only form in which it is kept.
func newSecret() (string, []byte) {
	random := make([]byte, 32)
	rand.Read(random) // never fails; see crypto/rand
	secret := runners.SecretPrefix + base64.RawURLEncoding.EncodeToString(random)
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:]
}

// Register registers a runner (ADMIN only) if the license allows one more,
// and returns it with its machine secret, which is shown only here.
func (s *Service) Register(ctx context.Context, in NewRunner) (View, string, error) {
	if err := requireAdmin(ctx); err != nil {
		return View{}, "", err
	}
	in, err := validateNew(in)
	if err != nil {
		return View{}, "", err
	}
	secret, hash := newSecret()
	r := Runner{ID: uuid.NewString(), Name: in.Name, Environment: in.Environment, Labels: in.Labels, CreatedAt: s.now()}
	allow := func(count int) error { return s.License.AllowRunners(ctx, count+1) }
	ev := event(ActionRegister, r, map[string]any{"labels": r.Labels})
	c, err := s.Store.RegisterRunner(ctx, Credential{Runner: r, SecretSHA256: hash}, allow, ev)
	if err != nil {
		return View{}, "", fmt.Errorf("register runner: %w", err)
	}
	// Write-through; should it fail, the first authentication fills it from PostgreSQL.
	if err := s.Cache.Put(ctx, CacheEntry{State: CacheValid, Credential: c}); err != nil {
		s.Log.WarnContext(ctx, "cache new runner credential", "runner_id", r.ID, "err", err)
	}
	return s.view(r, nil), secret, nil
}

// RegenerateSecret replaces a runner's machine secret (ADMIN only) and
// returns the new one. Before the change commits, the cache entry is marked
// pending (every instance then reads PostgreSQL for this runner), so when
// this returns the old secret fails everywhere, whatever else fails.
func (s *Service) RegenerateSecret(ctx context.Context, id string) (string, error) {
	if err := firstError(requireAdmin(ctx), checkID(id)); err != nil {
		return "", err
	}
	secret, hash := newSecret()
	c, err := s.Store.RotateSecret(ctx, id, hash, func(c Credential) (audit.Event, error) {
		if err := s.markPending(ctx, c); err != nil {
			return audit.Event{}, err
		}
		return event(ActionSecretRegenerate, c.Runner, nil), nil
	})
	if err != nil {
		return "", fmt.Errorf("regenerate secret of runner %s: %w", id, err)
	}
	if err := s.Cache.Put(ctx, CacheEntry{State: CacheValid, Credential: c}); err != nil {
		s.Log.WarnContext(ctx, "cache regenerated credential (PostgreSQL is read until the pending mark expires)", "runner_id", id, "err", err)
	}
	return secret, nil
}

// Delete deletes a runner (ADMIN only); its credentials fail at once.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := firstError(requireAdmin(ctx), checkID(id)); err != nil {
		return err
	}
	var gone Credential
	err := s.Store.DeleteRunner(ctx, id, func(c Credential) (audit.Event, error) {
		if err := s.markPending(ctx, c); err != nil {
			return audit.Event{}, err
		}
		gone = c
		return event(ActionDelete, c.Runner, nil), nil
	})
	if err != nil {
		return fmt.Errorf("delete runner %s: %w", id, err)
	}
	if err := s.Cache.Put(ctx, CacheEntry{State: CacheDeleted, Credential: gone}); err != nil {
		s.Log.WarnContext(ctx, "cache deletion (PostgreSQL is read until the pending mark expires)", "runner_id", id, "err", err)
	}
	if err := s.Presences.Forget(ctx, gone.Runner.ID); err != nil {
		s.Log.WarnContext(ctx, "forget presence of deleted runner", "runner_id", id, "err", err)
	}
	return nil
}

// markPending marks c's cache entry as changing; failing to is failing the change.
func (s *Service) markPending(ctx context.Context, c Credential) error {
	if err := s.Cache.Put(ctx, CacheEntry{State: CachePending, Credential: c}); err != nil {
		return errs.Wrap(errs.Unavailable, "the runner credential cache is unavailable; nothing was changed, try again", err)
	}
	return nil
}

func firstError(list ...error) error {
	for _, err := range list {
		if err != nil {
			return err
		}
	}
	return nil
}
