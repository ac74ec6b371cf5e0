// Command exekra-runner is the reference Runner agent: it dials out to the
// Hub, sends heartbeats, claims and runs jobs and reconnects with backoff. See agent/internal/agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/exekra/hub/agent/internal/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := agent.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
