// Command exekra-licensing runs the licensing service: license activation, limits and validation with the vendor portal.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/daemon"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/exekra/hub/services/licensing/internal/natsapi"
	"github.com/exekra/hub/services/licensing/internal/portal"
	"github.com/exekra/hub/services/licensing/internal/postgres"
	"github.com/exekra/hub/services/licensing/internal/prom"
)

// tickInterval is how often the service records the clock and looks for due validation work.
const tickInterval = time.Minute

func main() { daemon.Main(spec()) }

func spec() daemon.Spec {
	migrations, err := postgres.Migrations()
	if err != nil {
		panic(err) // embedded at build time: a broken set is a build defect
	}
	return daemon.Spec{
		Name:        "licensing",
		Description: "license activation, limits and validation with the vendor portal",
		Migrations:  migrations,
		UsesRedis:   false,
		Outbox:      true,
		Setup:       setup,
	}
}

// setup wires the domain; its background loop ends with ctx.
func setup(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
	trusted, err := licfile.ParsePublicKeys(d.Config.License.PublicKeys)
	if err != nil {
		return nil, fmt.Errorf("license.public_keys: %w", err)
	}
	if len(trusted) == 0 {
		d.Log.Warn("no trusted license keys (license.public_keys): every license will be refused")
	}
	store := postgres.NewStore(d.DB, d.Outbox)
	svc := license.New(license.Config{
		Store: store, Portal: portal.New(5*time.Second, buildinfo.Version), Runners: natsapi.Runners{NATS: d.NATS},
		Trusted: trusted, Version: buildinfo.Version, Log: d.Log, Meter: prom.New(d.Metrics),
	})
	if _, err := svc.Installation(ctx); err != nil {
		return nil, err
	}
	go svc.Run(ctx, tickInterval)
	return natsapi.Endpoints(store, svc), nil
}
