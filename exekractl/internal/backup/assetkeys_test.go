package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestHomeMembersLeaveTheAssetKeyFileOut(t *testing.T) {
	home := t.TempDir()
	cfg := config.Default(home)
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "hub-config.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, _ := envelope.NewKeyring()
	if err := ring.Save(filepath.Join(home, "config", "asset-keys.json")); err != nil {
		t.Fatal(err)
	}
	members, _, err := homeMembers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range members {
		names = append(names, m.name)
	}
	if strings.Contains(strings.Join(names, " "), "asset-keys") || !strings.Contains(strings.Join(names, " "), "hub-config.json") {
		t.Fatalf("members %v", names)
	}
}

func TestCheckAssetKeys(t *testing.T) {
	dir := t.TempDir()
	ring, _ := envelope.NewKeyring()
	id := ring.PrimaryID()
	given := filepath.Join(dir, "copy.json")
	if err := ring.Save(given); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target", "asset-keys.json")
	m := &Manifest{AssetKeys: []AssetKeyUse{{ID: id, Values: 3}}}
	_, err := checkAssetKeys(m, "", target)
	if err == nil || !strings.Contains(err.Error(), "this backup holds 3 asset values sealed under key "+id) ||
		!strings.Contains(err.Error(), "--asset-key-file") {
		t.Fatalf("without a key file: %v", err)
	}
	other, _ := envelope.NewKeyring()
	otherPath := filepath.Join(dir, "other.json")
	_ = other.Save(otherPath)
	if _, err := checkAssetKeys(m, otherPath, target); err == nil || !strings.Contains(err.Error(), "lacks key "+id) {
		t.Fatalf("with another key file: %v", err)
	}
	got, err := checkAssetKeys(m, given, target)
	if err != nil || got == nil || !got.Has(id) {
		t.Fatalf("with the key file: %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("the check wrote the key file")
	}
	if got, err := checkAssetKeys(&Manifest{}, "", target); err != nil || got != nil {
		t.Fatalf("no values: %v", err)
	}
}

func TestBackupWithAssetValues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := pgtest.New(t)
	migrateSchemas(t, ctx, src)
	ring, err := envelope.NewKeyring()
	must(t, err)
	conn, err := pgx.Connect(ctx, src)
	must(t, err)
	_, err = conn.Exec(ctx, `CREATE TABLE runners.asset_values (asset_id uuid, scope text, scope_key text, version int,
		kek_id text, wrapped_key bytea, ciphertext bytea)`)
	must(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO runners.asset_values VALUES ('6f1c1c1e-0000-4000-8000-000000000001', 'global', '', 1, $1, '\x00', '\x00')`, ring.PrimaryID())
	conn.Close(ctx)
	must(t, err)
	srcNATS := natstest.URL(t)
	home := newHome(t, src)
	keyFile := filepath.Join(home, "config", "asset-keys.json")
	must(t, ring.Save(keyFile))
	environ := []string{"PATH=" + os.Getenv("PATH"), "EXEKRA_NATS_URL=" + srcNATS}
	out := filepath.Join(t.TempDir(), "hub.tar.gz")
	res, err := Backup(ctx, Options{Home: home, Out: out, Environ: environ})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if ks := res.Manifest.AssetKeys; len(ks) != 1 || ks[0].ID != ring.PrimaryID() || ks[0].Values != 1 ||
		res.Manifest.AssetKeyFile != "config/asset-keys.json" {
		t.Fatalf("manifest asset keys %+v %q", ks, res.Manifest.AssetKeyFile)
	}
	f, err := os.Open(out)
	must(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(gz)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		n++
		if strings.Contains(h.Name, "asset-keys") {
			t.Fatalf("the archive holds %s", h.Name)
		}
	}
	if n < 5 {
		t.Fatalf("only %d members", n)
	}

	dst, dstNATS := pgtest.New(t), natstest.URL(t)
	target := filepath.Join(t.TempDir(), "new")
	renv := []string{"PATH=" + os.Getenv("PATH"), "EXEKRA_DATABASE_URL=" + dst, "EXEKRA_NATS_URL=" + dstNATS,
		"EXEKRA_GATEWAY_LISTEN=127.0.0.1:0", "EXEKRA_SUPERVISOR_METRICS_LISTEN=127.0.0.1:0"}
	_, err = Restore(ctx, RestoreOptions{Home: target, From: out, Environ: renv})
	if err == nil || !strings.Contains(err.Error(), "this backup holds 1 asset values sealed under key "+ring.PrimaryID()) {
		t.Fatalf("restore without the key file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, config.FileName)); err == nil {
		t.Fatal("a refused restore wrote the settings")
	}
	c, err := pgx.Connect(ctx, dst)
	must(t, err)
	var schemas int
	must(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = 'runners'").Scan(&schemas))
	c.Close(ctx)
	if schemas != 0 {
		t.Fatal("a refused restore loaded the database")
	}
	if _, err := Restore(ctx, RestoreOptions{Home: target, From: out, Environ: renv, AssetKeyFile: keyFile}); err != nil {
		t.Fatalf("restore with the key file: %v", err)
	}
	got, err := envelope.LoadKeyring(filepath.Join(target, "config", "asset-keys.json"))
	if err != nil || !got.Has(ring.PrimaryID()) {
		t.Fatalf("installed key file: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(target, "config", "asset-keys.json")); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
}
