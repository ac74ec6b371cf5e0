// Package natsrpctest serves natsrpc endpoints in tests.
package natsrpctest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/exekra/hub/libs/natsrpc"
	"github.com/nats-io/nats.go"
)

// Serve runs the real natsrpc.Serve for eps on nc until t ends, and returns
// once every endpoint answers (a request sent earlier would find no responder).
func Serve(t testing.TB, nc *nats.Conn, log *slog.Logger, name string, eps ...natsrpc.Endpoint) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- natsrpc.Serve(ctx, nc, log, nil, natsrpc.Service{Name: name, Version: "1.0.0", Endpoints: eps})
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for _, ep := range eps {
		for {
			_, err := nc.Request(ep.Subject, []byte("{"), time.Second)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
