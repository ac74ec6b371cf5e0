package natsembed

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/nats-io/nats.go"
)

func TestStartServesClientsWithJetStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	keys, err := busauth.EnsureKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(slog.New(slog.NewTextHandler(io.Discard, nil)), Options{
		Listen: addr, StoreDir: t.TempDir(), MaxMemory: 32 << 20, MaxStore: 64 << 20, Keys: keys,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if srv.URL() != "nats://"+addr || !srv.JetStreamEnabled() {
		t.Fatalf("URL %s, JetStream %v; want nats://%s with JetStream", srv.URL(), srv.JetStreamEnabled(), addr)
	}
	if nc, err := nats.Connect(srv.URL(), nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Fatal("a client without a key connected")
	}
	opts, _, err := busauth.ClientOptions(busauth.Audit, dir)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL(), append(opts, nats.Timeout(2*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "AUDIT", Subjects: []string{"exekra.audit.events.>"}}); err != nil {
		t.Fatalf("JetStream does not work: %v", err)
	}
}

func TestStartOnABusyPortFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = Start(slog.New(slog.NewTextHandler(io.Discard, nil)), Options{
		Listen: busy.Addr().String(), StoreDir: t.TempDir(), ReadyTimeout: 2 * time.Second,
		Keys: map[busauth.Principal]string{busauth.Gateway: "UNUSED"},
	})
	if err == nil || !strings.Contains(err.Error(), "nats.listen") {
		t.Fatalf("Start on a busy port = %v, want an error naming nats.listen", err)
	}
}
