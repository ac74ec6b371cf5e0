package natsapi_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/runners/internal/asset"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/prom"
	"github.com/nats-io/nats.go"
)

// assetsHarness is the jobs harness with the packages and the assets
// served too, and the jobs checking declared assets before a start.
type assetsHarness struct {
	*jobsHarness
	assets *asset.Service
	ring   *envelope.Keyring
}

// fixedKeys hands out one key ring.
type fixedKeys struct{ k *envelope.Keyring }

func (f fixedKeys) Keyring() (*envelope.Keyring, error) { return f.k, nil }

// lateAssets lets the jobs domain, built first, reach the assets domain.
type lateAssets struct{ svc *asset.Service }

func (l *lateAssets) CheckAvailable(ctx context.Context, names []string, env, runnerID string) error {
	return l.svc.CheckAvailable(ctx, names, env, runnerID)
}

func newAssetsHarness(t *testing.T) *assetsHarness {
	t.Helper()
	late := &lateAssets{}
	h := &assetsHarness{jobsHarness: newJobsHarness(t, func(d *job.Deps) { d.Assets = late })}
	h.servePackages(t)
	ring, err := envelope.NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	h.ring = ring
	h.assets, err = asset.NewService(asset.Deps{Store: h.store.Store.Assets(), Keys: fixedKeys{ring},
		Runners: natsapi.AssetRunners(h.svc), Meter: prom.NewAssets(h.reg), Log: h.log, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	late.svc = h.assets
	natsrpctest.Serve(t, natstest.Connect(t, h.url), h.log, "exekra-runners-assets", natsapi.AssetEndpoints(h.assets, h.svc)...)
	return h
}

// recordWithAssets publishes a package version declaring assets.
func (h *assetsHarness) recordWithAssets(t *testing.T, name, version string, i int, assets ...string) runners.Package {
	t.Helper()
	return must[runners.Package](t)(call[runners.Package](as(developer), h.harness, runners.SubjectPackageRecord,
		runners.RecordPackageRequest{Name: name, Version: version, SHA256: sha(i), SizeBytes: 10, Entrypoint: []string{"run"},
			Assets: assets}))
}

func (h *assetsHarness) createAsset(ctx context.Context, name, typ, value string) (runners.Asset, error) {
	req := runners.CreateAssetRequest{Name: name, Type: typ}
	if value != "" {
		req.Value = json.RawMessage(value)
	}
	return call[runners.Asset](ctx, h.harness, runners.SubjectAssetCreate, req)
}

func (h *assetsHarness) mustAsset(t testing.TB, name, typ, value string) runners.Asset {
	t.Helper()
	return must[runners.Asset](t)(h.createAsset(as(developer), name, typ, value))
}

func global(name string) runners.AssetValueRequest {
	return runners.AssetValueRequest{Name: name, Scope: runners.ScopeGlobal}
}

func envScope(name, env string) runners.AssetValueRequest {
	return runners.AssetValueRequest{Name: name, Scope: runners.ScopeEnvironment, Environment: env}
}

func runnerScope(name, id string) runners.AssetValueRequest {
	return runners.AssetValueRequest{Name: name, Scope: runners.ScopeRunner, RunnerID: id}
}

func (h *assetsHarness) setValue(ctx context.Context, at runners.AssetValueRequest, value string) (runners.Asset, error) {
	return call[runners.Asset](ctx, h.harness, runners.SubjectAssetValueSet,
		runners.SetAssetValueRequest{AssetValueRequest: at, Value: json.RawMessage(value)})
}

func (h *assetsHarness) mustSet(t testing.TB, at runners.AssetValueRequest, value string) runners.Asset {
	t.Helper()
	return must[runners.Asset](t)(h.setValue(as(developer), at, value))
}

func (h *assetsHarness) getAsset(ctx context.Context, name string) (runners.Asset, error) {
	return call[runners.Asset](ctx, h.harness, runners.SubjectAssetGet, runners.AssetRequest{Name: name})
}

// read is the runner's read of a job's assets.
func (h *assetsHarness) read(reg runners.Registered, jobID string, attempt int) (runners.AgentAssets, error) {
	return call[runners.AgentAssets](gateway(sourceIP), h.harness, runners.SubjectAgentAssets,
		runners.AgentAssetsRequest{AgentRequest: agent(reg), JobID: jobID, Attempt: attempt})
}

// raw sends req as call does and returns the reply's bytes as they came.
func (h *assetsHarness) raw(t testing.TB, ctx context.Context, subject string, req any) []byte {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	info := caller.From(ctx)
	msg.Header.Set(natsrpc.HeaderRequestID, info.RequestID)
	msg.Header.Set(natsrpc.HeaderActor, info.Actor.String())
	msg.Header.Set(natsrpc.HeaderSourceIP, info.SourceIP)
	reply, err := h.client.Conn().RequestMsgWithContext(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	return reply.Data
}
