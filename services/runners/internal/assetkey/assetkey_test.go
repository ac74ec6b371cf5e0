package assetkey

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/runners/internal/postgres"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

func migrated(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := pgtest.Pool(t, "runners")
	files, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(context.Background(), pool, "runners", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	return pool
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func load(t *testing.T, pool *pgxpool.Pool, path string) *Holder {
	t.Helper()
	h, err := Load(context.Background(), pool, path, outbox.Writer{Service: "runners"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// insertValues writes n global values of fresh assets sealed with ring.
func insertValues(t *testing.T, pool *pgxpool.Pool, ring *envelope.Keyring, n int) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for i := range n {
		id := uuid.NewString()
		name := "a_" + uuid.NewString()[:8]
		if _, err := pool.Exec(ctx, `INSERT INTO assets (id, name, type, created_by, created_at, updated_by, updated_at)
			VALUES ($1, $2, 'secret', 'u', now(), 'u', now())`, id, name); err != nil {
			t.Fatal(err)
		}
		plain := "value-" + name
		s, err := ring.Seal([]byte(plain), envelope.AAD(id, "global", "", 1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO asset_values (asset_id, scope, scope_key, version, kek_id, wrapped_key, ciphertext, updated_by, updated_at)
			VALUES ($1, 'global', '', 1, $2, $3, $4, 'u', now())`, id, s.KeyID, s.WrappedKey, s.Ciphertext); err != nil {
			t.Fatal(err)
		}
		_ = i
		ids[id] = plain
	}
	return ids
}

func TestCreateOnFirstStart(t *testing.T) {
	pool := migrated(t)
	path := filepath.Join(t.TempDir(), "config", "asset-keys.json")
	h := load(t, pool, path)
	ring, err := h.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	var since *time.Time
	if err := pool.QueryRow(context.Background(), `SELECT primary_since FROM asset_keys WHERE id = $1`, ring.PrimaryID()).Scan(&since); err != nil || since == nil {
		t.Fatalf("asset_keys row: %v %v", since, err)
	}
	// A second start loads the same file.
	h2 := load(t, pool, path)
	r2, _ := h2.Keyring()
	if r2.PrimaryID() != ring.PrimaryID() {
		t.Fatalf("second start: %s, first %s", r2.PrimaryID(), ring.PrimaryID())
	}
}

func TestMissingFileWithValuesIsUnavailable(t *testing.T) {
	pool := migrated(t)
	ring, _ := envelope.NewKeyring()
	insertValues(t, pool, ring, 1)
	path := filepath.Join(t.TempDir(), "asset-keys.json")
	h := load(t, pool, path)
	_, err := h.Keyring()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Unavailable || e.Message != "the asset key file "+path+" is missing on this runners instance; restore it from your copy (it is not in backups)" {
		t.Fatalf("Keyring: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("created a key file although values exist")
	}
	// Putting the file back makes it available at the next look.
	if err := ring.Save(path); err != nil {
		t.Fatal(err)
	}
	if !h.reload(context.Background()) {
		t.Fatal("reload did not see the file")
	}
	if r, err := h.Keyring(); err != nil || r.PrimaryID() != ring.PrimaryID() {
		t.Fatalf("after restore: %v", err)
	}
}

func TestReloadRewrapsOnce(t *testing.T) {
	pool := migrated(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "asset-keys.json")
	a := load(t, pool, path)
	b := load(t, pool, path)
	ring, _ := a.Keyring()
	old := ring.PrimaryID()
	values := insertValues(t, pool, ring, 450) // more than two batches

	ext, err := envelope.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	newID, err := ext.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Save(path); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*Holder{a, b} {
		if !h.reload(ctx) {
			t.Fatal("reload missed the rotated file")
		}
	}
	var wg sync.WaitGroup
	results := make([]RewrapResult, 2)
	for i, h := range []*Holder{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := h.Rewrap(ctx)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	if results[0].Rewrapped+results[1].Rewrapped != 450 {
		t.Fatalf("rewrapped %+v", results)
	}
	if results[0].Audited == results[1].Audited {
		t.Fatalf("audited by both or neither: %+v", results)
	}
	var under, audits int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM asset_values WHERE kek_id = $1`, newID).Scan(&under); err != nil || under != 450 {
		t.Fatalf("values under the new key: %d %v", under, err)
	}
	var details string
	if err := pool.QueryRow(ctx, `SELECT count(*), max(payload->>'details') FROM audit_outbox WHERE payload->>'action' = 'asset.key.rotate'`).Scan(&audits, &details); err != nil || audits != 1 {
		t.Fatalf("rotate audits: %d %v", audits, err)
	}
	if !strings.Contains(details, `"previous": "`+old+`"`) || !strings.Contains(details, `"values_rewrapped": 450`) ||
		!strings.Contains(details, `"primary": "`+newID+`"`) {
		t.Fatalf("rotate details: %s", details)
	}
	// Every value opens with the reloaded ring.
	r, _ := b.Keyring()
	rows, _ := pool.Query(ctx, `SELECT asset_id::text, kek_id, wrapped_key, ciphertext FROM asset_values`)
	n := 0
	for rows.Next() {
		var id string
		var s envelope.Sealed
		if err := rows.Scan(&id, &s.KeyID, &s.WrappedKey, &s.Ciphertext); err != nil {
			t.Fatal(err)
		}
		got, err := r.Open(s, envelope.AAD(id, "global", "", 1))
		if err != nil || string(got) != values[id] {
			t.Fatalf("open %s: %v", id, err)
		}
		n++
	}
	if rows.Err() != nil || n != 450 {
		t.Fatalf("opened %d: %v", n, rows.Err())
	}
	// Nothing left: another pass neither moves nor audits.
	again, err := a.Rewrap(ctx)
	if err != nil || again.Rewrapped != 0 || again.Audited {
		t.Fatalf("second pass: %+v %v", again, err)
	}
}
