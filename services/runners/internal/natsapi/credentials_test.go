package natsapi_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// presented is what the gateway passes for id and secret.
func presented(id, secret string) runner.Presented {
	return runner.Presented{RunnerID: id, SecretSHA256: runners.SecretSHA256(secret), UserAgent: "exekra-runner/test"}
}

func TestHeartbeatCostsNoPostgreSQL(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvDevelopment)
	t.Run("a heartbeat after registration is answered from the cache alone", func(t *testing.T) {
		before := h.store.pgCalls()
		for range 20 {
			if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, heartbeat()); err != nil {
				t.Fatal(err)
			}
		}
		if n := h.store.pgCalls() - before; n != 0 {
			t.Fatalf("%d PostgreSQL calls for 20 heartbeats", n)
		}
	})
	t.Run("an upper-case runner id is the same runner, from the cache too", func(t *testing.T) {
		before := h.store.pgCalls()
		if _, err := h.beat(gateway(sourceIP), strings.ToUpper(reg.Runner.ID), reg.MachineSecret, heartbeat()); err != nil {
			t.Fatal(err)
		}
		if h.store.pgCalls() != before {
			t.Fatal("an upper-case id missed the cache")
		}
	})
	t.Run("after Redis lost its data one read fills the cache again", func(t *testing.T) {
		if err := h.rdb.FlushAll(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		before := h.store.credential.Load()
		for range 5 {
			if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, heartbeat()); err != nil {
				t.Fatal(err)
			}
		}
		if n := h.store.credential.Load() - before; n != 1 {
			t.Fatalf("%d credential reads, want 1", n)
		}
	})
}

func TestRegenerateSecret(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvDevelopment)
	other := h.register(t, "r2", runners.EnvDevelopment)
	// Two instances of the service on the same PostgreSQL and Redis, as two
	// processes behind two gateways; both have the old secret cached.
	a, b := h.service(t), h.service(t)
	for _, svc := range []*runner.Service{a, b} {
		if _, err := svc.Heartbeat(gateway(sourceIP), presented(reg.Runner.ID, reg.MachineSecret), runner.Presence{}); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := a.RegenerateSecret(as(admin), reg.Runner.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the new secret is a fresh machine secret", func(t *testing.T) {
		if secret == reg.MachineSecret || len(secret) != len(reg.MachineSecret) {
			t.Fatalf("secret %q", secret)
		}
	})
	t.Run("the old secret fails on the other instance at once", func(t *testing.T) {
		_, err := b.Heartbeat(gateway("192.0.2.1"), presented(reg.Runner.ID, reg.MachineSecret), runner.Presence{})
		wantKind(t, err, errs.InvalidCredentials)
	})
	t.Run("the new secret works on both instances", func(t *testing.T) {
		for _, svc := range []*runner.Service{a, b} {
			if _, err := svc.Heartbeat(gateway(sourceIP), presented(reg.Runner.ID, secret), runner.Presence{}); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("through NATS: the old secret fails, the new one works", func(t *testing.T) {
		secret2 := must[runners.MachineSecret](t)(call[runners.MachineSecret](as(admin), h, runners.SubjectRegenerateSecret,
			runners.RegenerateSecretRequest{ID: reg.Runner.ID})).MachineSecret
		_, err := h.beat(gateway("192.0.2.2"), reg.Runner.ID, secret, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
		if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, secret2, heartbeat()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another runner's secret is untouched", func(t *testing.T) {
		if _, err := h.beat(gateway(sourceIP), other.Runner.ID, other.MachineSecret, heartbeat()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an unknown runner is not_found", func(t *testing.T) {
		_, err := a.RegenerateSecret(as(admin), "00000000-0000-4000-8000-000000000000")
		wantKind(t, err, errs.NotFound)
	})
}

func TestDelete(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvDevelopment)
	a, b := h.service(t), h.service(t)
	if _, err := b.Heartbeat(gateway(sourceIP), presented(reg.Runner.ID, reg.MachineSecret), runner.Presence{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(as(admin), reg.Runner.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("the deleted runner's secret fails on the other instance at once", func(t *testing.T) {
		_, err := b.Heartbeat(gateway("192.0.2.1"), presented(reg.Runner.ID, reg.MachineSecret), runner.Presence{})
		wantKind(t, err, errs.InvalidCredentials)
	})
	t.Run("and keeps failing once Redis lost the deletion", func(t *testing.T) {
		h.rdb.FlushAll(t.Context())
		_, err := h.beat(gateway("192.0.2.2"), reg.Runner.ID, reg.MachineSecret, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
	})
	t.Run("the runner is gone", func(t *testing.T) {
		_, err := call[runners.Runner](as(operator), h, runners.SubjectGet, runners.GetRequest{ID: reg.Runner.ID})
		wantKind(t, err, errs.NotFound)
		if n := h.count(t); n != 0 {
			t.Fatalf("count %d", n)
		}
	})
	t.Run("deleting it again is not_found", func(t *testing.T) {
		_, err := call[runners.DeleteResponse](as(admin), h, runners.SubjectDelete, runners.DeleteRequest{ID: reg.Runner.ID})
		wantKind(t, err, errs.NotFound)
	})
	t.Run("its name is free again", func(t *testing.T) {
		h.register(t, "r1", runners.EnvStaging)
	})
}

func TestCacheNeverTakesAnOldCredentialBack(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvDevelopment)
	ctx := t.Context()
	// A fill that read PostgreSQL before a regeneration and writes after it.
	stale, err := h.store.Credential(ctx, reg.Runner.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := h.svc.RegenerateSecret(as(admin), reg.Runner.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a fill overtaken by a regeneration is ignored", func(t *testing.T) {
		if err := h.deps.Cache.Put(ctx, runner.CacheEntry{State: runner.CacheValid, Credential: stale}); err != nil {
			t.Fatal(err)
		}
		_, err := h.beat(gateway("192.0.2.1"), reg.Runner.ID, reg.MachineSecret, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
		if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, secret, heartbeat()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("while a change is pending PostgreSQL decides", func(t *testing.T) {
		current, _ := h.store.Credential(ctx, reg.Runner.ID)
		next := current
		next.Version++
		if err := h.deps.Cache.Put(ctx, runner.CacheEntry{State: runner.CachePending, Credential: next}); err != nil {
			t.Fatal(err)
		}
		reads := h.store.credential.Load()
		if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, secret, heartbeat()); err != nil {
			t.Fatal(err)
		}
		if h.store.credential.Load() != reads+1 {
			t.Fatal("a pending entry did not send the check to PostgreSQL")
		}
		// The read found the older version: the pending mark stays.
		if e, _, _ := h.deps.Cache.Lookup(ctx, reg.Runner.ID, time.Now(), runner.Bucket{Key: "exekra:test:nolock", Burst: 1, Per: time.Second}); e.State != runner.CachePending {
			t.Fatalf("entry %v after an older fill", e.State)
		}
	})
}

func TestRegenerateAfterDatabaseRestore(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvDevelopment)
	ctx := t.Context()
	backup, err := h.store.Credential(ctx, reg.Runner.ID)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := h.svc.RegenerateSecret(as(admin), reg.Runner.ID) // cached, newer than the backup
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL is restored from the backup; Redis still holds the rotated credential.
	if _, err := h.pool.Exec(ctx, "UPDATE runners SET secret_sha256 = $2, credential_version = $3 WHERE id = $1",
		reg.Runner.ID, backup.SecretSHA256, backup.Version); err != nil {
		t.Fatal(err)
	}
	t.Run("a regeneration after the restore still replaces the cached secret at once", func(t *testing.T) {
		fresh, err := h.svc.RegenerateSecret(as(admin), reg.Runner.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.beat(gateway("192.0.2.1"), reg.Runner.ID, rotated, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
		if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, fresh, heartbeat()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("so does a deletion", func(t *testing.T) {
		reg2 := h.register(t, "r2", runners.EnvDevelopment)
		old, _ := h.store.Credential(ctx, reg2.Runner.ID)
		h.pool.Exec(ctx, "UPDATE runners SET credential_version = $2 WHERE id = $1", reg2.Runner.ID, old.Version-10_000_000)
		if err := h.svc.Delete(as(admin), reg2.Runner.ID); err != nil {
			t.Fatal(err)
		}
		_, err := h.beat(gateway("192.0.2.3"), reg2.Runner.ID, reg2.MachineSecret, heartbeat())
		wantKind(t, err, errs.InvalidCredentials)
	})
}

// A runner read by id comes from the credential cache and its presence when
// both are there, and is then the same as read from PostgreSQL.
func TestGetFromTheCache(t *testing.T) {
	h := newHarness(t)
	reg := h.register(t, "r1", runners.EnvDevelopment)
	reads := func() int64 { return h.store.reads.Load() }

	before := reads()
	if got := h.get(t, reg.Runner.ID); got.Status != runners.StatusNeverConnected || reads() != before+1 {
		t.Fatalf("before any heartbeat: status %s, %d PostgreSQL reads; want never seen, read from PostgreSQL", got.Status, reads()-before)
	}
	if _, err := h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, heartbeat()); err != nil {
		t.Fatal(err)
	}
	before = reads()
	cached := h.get(t, reg.Runner.ID)
	if reads() != before {
		t.Fatal("a seen runner with a cached credential was read from PostgreSQL")
	}
	if err := h.rdb.Del(t.Context(), "exekra:runners:cred:"+reg.Runner.ID).Err(); err != nil {
		t.Fatal(err)
	}
	stored := h.get(t, reg.Runner.ID)
	if reads() != before+1 {
		t.Fatal("without a cache entry the runner was not read from PostgreSQL")
	}
	if !reflect.DeepEqual(cached, stored) {
		t.Fatalf("from the cache:\n%+v\nfrom PostgreSQL:\n%+v", cached, stored)
	}

	if _, err := call[runners.MachineSecret](as(admin), h, runners.SubjectRegenerateSecret, runners.RegenerateSecretRequest{ID: reg.Runner.ID}); err != nil {
		t.Fatal(err)
	}
	if got := h.get(t, reg.Runner.ID); !reflect.DeepEqual(got, stored) {
		t.Fatalf("after a new secret: %+v, want %+v", got, stored)
	}
	if _, err := call[runners.DeleteResponse](as(admin), h, runners.SubjectDelete, runners.DeleteRequest{ID: reg.Runner.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := call[runners.Runner](as(operator), h, runners.SubjectGet, runners.GetRequest{ID: reg.Runner.ID}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a deleted runner: %v, want not_found", err)
	}
}
