package natsembed

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestStartServesClientsWithJetStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv, err := Start(slog.New(slog.NewTextHandler(io.Discard, nil)), Options{
		Listen: addr, StoreDir: t.TempDir(), MaxMemory: 32 << 20, MaxStore: 64 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if srv.URL() != "nats://"+addr || !srv.JetStreamEnabled() {
		t.Fatalf("URL %s, JetStream %v; want nats://%s with JetStream", srv.URL(), srv.JetStreamEnabled(), addr)
	}
	nc, err := nats.Connect(srv.URL(), nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatalf("JetStream does not work: %v", err)
	}
	if _, err := js.Publish("t.one", []byte("x")); err != nil {
		t.Fatal(err)
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
	})
	if err == nil || !strings.Contains(err.Error(), "nats.listen") {
		t.Fatalf("Start on a busy port = %v, want an error naming nats.listen", err)
	}
}
