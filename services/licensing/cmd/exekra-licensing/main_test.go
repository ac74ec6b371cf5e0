package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/daemon"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

func home(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, config.FileName), config.DefaultFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// running is one daemon.Run of the service on its own goroutine.
type running struct {
	done chan struct{} // closed when Run returns
	err  error         // Run's result, once done is closed
}

// run starts the service in-process; it stops when t ends.
func run(t *testing.T, environ []string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = daemon.Run(ctx, spec(), []string{"--home", home(t)}, environ, &bytes.Buffer{})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("the service did not stop within 15s")
		}
	})
	return r
}

func TestServiceActivatesALicenseSignedByATrustedKey(t *testing.T) {
	vendor, pub, _ := licfile.Keygen()
	dbURL, natsURL := pgtest.New(t), natstest.URL(t)
	run(t, []string{"EXEKRA_DATABASE_URL=" + dbURL, "EXEKRA_NATS_URL=" + natsURL, "EXEKRA_LICENSING_METRICS_LISTEN=127.0.0.1:0",
		"EXEKRA_LICENSE_PUBLIC_KEYS=" + licfile.EncodePublicKey(pub)})
	client := natsrpc.NewClient(natstest.Connect(t, natsURL), nil)
	text, err := licfile.Issue(vendor, licfile.Document{LicenseID: "L-main", Licensee: "Acme", AdminEmail: "a@acme.test",
		MaxRunners: 2, ExpiresAt: time.Now().Add(24 * time.Hour), Validation: licfile.Validation{Mode: "offline", IntervalHours: 24}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	var st contract.Status
	for {
		st, err = natsrpc.Call[contract.Status](ctx, client, contract.SubjectActivate, contract.ActivateRequest{License: text})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || st.LicenseID != "L-main" || st.Status != contract.StatusActive || st.InstallationID == "" {
		t.Fatalf("activate = %+v, %v", st, err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var events int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM licensing.audit_outbox WHERE payload->>'action' = 'license.activate'").Scan(&events); err != nil || events != 1 {
		t.Fatalf("outbox events = %d, %v", events, err)
	}
}

func TestServiceRefusesToStartWithABadTrustedKey(t *testing.T) {
	r := run(t, []string{"EXEKRA_DATABASE_URL=" + pgtest.New(t), "EXEKRA_NATS_URL=" + natstest.URL(t),
		"EXEKRA_LICENSING_METRICS_LISTEN=127.0.0.1:0", "EXEKRA_LICENSE_PUBLIC_KEYS=bm90LWEta2V5"})
	select {
	case <-r.done:
		if r.err == nil || !strings.Contains(r.err.Error(), "license.public_keys") {
			t.Fatalf("Run = %v, want an error naming license.public_keys", r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the service started with a bad trusted key")
	}
}
