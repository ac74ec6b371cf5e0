package natsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/nats-io/nats.go"
)

// InstanceEndpoints serve this instance's own claim subject: a gateway that
// hears the instance announce itself (Announce) sends claims there, and
// sends them to another instance once the announcements stop.
func InstanceEndpoints(instance string, runners *runner.Service, svc *job.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{claimEndpoint(contract.InstanceClaimSubject(instance), runners, svc)}
}

// Announce publishes instance's presence every contract.PresenceEvery until
// ctx ends, then once more as stopping, so that gateways send new claims
// elsewhere at once.
func Announce(ctx context.Context, nc *nats.Conn, instance string, log *slog.Logger) {
	publish := func(p contract.Presence) {
		data, _ := json.Marshal(p)
		if err := nc.Publish(contract.SubjectPresence, data); err != nil && ctx.Err() == nil {
			log.Warn("announce the instance", "err", err)
		}
	}
	tick := time.NewTicker(contract.PresenceEvery)
	defer tick.Stop()
	for {
		publish(contract.Presence{Instance: instance, Reconnects: nc.Stats().Reconnects})
		select {
		case <-ctx.Done():
			publish(contract.Presence{Instance: instance, Stopping: true})
			nc.Flush()
			return
		case <-tick.C:
		}
	}
}
