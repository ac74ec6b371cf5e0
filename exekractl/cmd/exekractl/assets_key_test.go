package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

// keyHome is an install dir whose runners schema holds n sealed values
// under the key file's primary key.
func keyHome(t *testing.T, n int) (home string, conn *pgx.Conn, ring *envelope.Keyring) {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.New(t)
	home = t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "hub-config.json"), []byte(`{"database": {"url": "`+dbURL+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `CREATE SCHEMA runners; CREATE TABLE runners.asset_values (asset_id uuid, scope text, scope_key text,
		version int, kek_id text, wrapped_key bytea, ciphertext bytea, PRIMARY KEY (asset_id, scope, scope_key))`); err != nil {
		t.Fatal(err)
	}
	ring, err = envelope.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Save(filepath.Join(home, "config", "asset-keys.json")); err != nil {
		t.Fatal(err)
	}
	for range n {
		id := newUUID(t)
		s, err := ring.Seal([]byte("v"), envelope.AAD(id, "global", "", 1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO runners.asset_values VALUES ($1, 'global', '', 1, $2, $3, $4)`,
			id, s.KeyID, s.WrappedKey, s.Ciphertext); err != nil {
			t.Fatal(err)
		}
	}
	return home, conn, ring
}

// rewrapper stands in for the runners service: it re-reads the key file and
// re-wraps every value under its primary key.
func rewrapper(ctx context.Context, t *testing.T, dbURLConn *pgx.Conn, path string) {
	for ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		ring, err := envelope.LoadKeyring(path)
		if err != nil {
			continue
		}
		rows, err := dbURLConn.Query(ctx, `SELECT asset_id::text, kek_id, wrapped_key FROM runners.asset_values WHERE kek_id <> $1`, ring.PrimaryID())
		if err != nil {
			continue
		}
		type row struct {
			id, kek string
			wk      []byte
		}
		var todo []row
		for rows.Next() {
			var r row
			_ = rows.Scan(&r.id, &r.kek, &r.wk)
			todo = append(todo, r)
		}
		rows.Close()
		for _, r := range todo {
			s, err := ring.Rewrap(envelope.Sealed{KeyID: r.kek, WrappedKey: r.wk}, envelope.AAD(r.id, "global", "", 1))
			if err != nil {
				t.Errorf("rewrap: %v", err)
				return
			}
			if _, err := dbURLConn.Exec(ctx, `UPDATE runners.asset_values SET kek_id = $1, wrapped_key = $2 WHERE asset_id = $3`, s.KeyID, s.WrappedKey, r.id); err != nil {
				return
			}
		}
	}
}

func TestAssetsRotateAndRetire(t *testing.T) {
	home, conn, ring := keyHome(t, 3)
	path := filepath.Join(home, "config", "asset-keys.json")
	old := ring.PrimaryID()
	ctx := context.Background()

	// Nothing re-wraps: rotate-key reports the values left after --wait.
	var out bytes.Buffer
	err := run(ctx, []string{"assets", "rotate-key", "--home", home, "--wait", "300ms"}, &out)
	if err == nil || !strings.Contains(err.Error(), "3 of 3 asset values are still under older keys") {
		t.Fatalf("rotate-key without the service: %v", err)
	}
	// retire-keys refuses while values use the old key.
	err = run(ctx, []string{"assets", "retire-keys", "--home", home}, &out)
	if err == nil || !strings.Contains(err.Error(), old+" (3 values)") {
		t.Fatalf("retire-keys while in use: %v", err)
	}

	wctx, cancel := context.WithCancel(ctx)
	svcConn, err := pgx.Connect(ctx, conn.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer svcConn.Close(ctx)
	done := make(chan struct{})
	go func() { rewrapper(wctx, t, svcConn, path); close(done) }()
	out.Reset()
	if err := run(ctx, []string{"assets", "rotate-key", "--home", home, "--wait", "20s"}, &out); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	after, err := envelope.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "new primary key "+after.PrimaryID()+"; 3 values re-wrapped") || !strings.Contains(out.String(), old) {
		t.Fatalf("rotate-key said %q", out.String())
	}
	if len(after.IDs()) != 3 {
		t.Fatalf("keys after two rotations: %v", after.IDs())
	}
	out.Reset()
	if err := run(ctx, []string{"assets", "retire-keys", "--home", home}, &out); err != nil {
		t.Fatal(err)
	}
	final, err := envelope.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if ids := final.IDs(); len(ids) != 1 || ids[0] != after.PrimaryID() || !strings.Contains(out.String(), old) {
		t.Fatalf("after retire: %v, said %q", ids, out.String())
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
}

func newUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
