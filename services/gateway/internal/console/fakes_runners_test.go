package console_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
)

// A test double of the runners service: canned answers on its real subjects,
// checking the actor's role as the service does.

const (
	opToken    = "exk_st_op"
	maxRunners = 5 // the fake license's limit
)

var (
	opUser = identity.User{ID: "u-op", Email: "op@example.com", Name: "Op Erator", Role: identity.RoleOperator}
	seenAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

type fakeRunners struct {
	items       []runners.Runner
	secrets     map[string]string // runner id -> current machine secret
	lastList    runners.ListRequest
	nextCursor  string // returned for a first page when set
	registered  int
	regenerated int
}

func newFakeRunners() fakeRunners {
	recent := time.Now().Add(-3*time.Hour - time.Minute)
	job := "j-1"
	return fakeRunners{secrets: map[string]string{}, items: []runners.Runner{
		{ID: "r-1", Name: "build-01", Environment: runners.EnvProduction, Labels: []string{"linux", "gpu"},
			Status: runners.StatusOnline, LastSeenAt: &seenAt, ConnectedFrom: "203.0.113.5", Version: "1.2.3", Commit: "0123456789ab",
			OS: "linux/amd64", Hostname: "build01.example.com",
			Metrics: runners.Metrics{CPUPercent: 12.5, MemoryPercent: 40, DiskFreeBytes: 20 << 30}},
		{ID: "r-2", Name: "win-02", Environment: runners.EnvDevelopment, Labels: []string{}, Status: runners.StatusNeverConnected},
		{ID: "r-3", Name: "busy-03", Environment: runners.EnvStaging, Status: runners.StatusBusy, LastSeenAt: &recent,
			CurrentJobID: &job, Metrics: runners.Metrics{DiskFreeBytes: 512}},
	}}
}

// addOperator signs in an OPERATOR with opToken.
func (f *fakeHub) addOperator() {
	f.with(func(f *fakeHub) {
		f.users = append(f.users, opUser)
		f.tokens[opToken] = opUser.ID
	})
}

func (f *fakeHub) findRunner(id string) int {
	return slices.IndexFunc(f.runners.items, func(r runners.Runner) bool { return r.ID == id })
}

var errNotAdmin = errs.E(errs.PermissionDenied, "this needs the ADMIN role")

func (f *fakeHub) runnersEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectList, f.listRunners),
		natsrpc.Handle(runners.SubjectCensus, func(context.Context, runners.CensusRequest) (runners.Census, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out runners.Census
			for _, r := range f.runners.items {
				out.Rows = append(out.Rows, runners.CensusRow{Environment: r.Environment, Status: r.Status, Runners: 1})
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectGet, func(_ context.Context, r runners.GetRequest) (runners.Runner, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if i := f.findRunner(r.ID); i >= 0 {
				return f.runners.items[i], nil
			}
			return runners.Runner{}, errs.E(errs.NotFound, "no such runner")
		}),
		natsrpc.Handle(runners.SubjectRegister, f.registerRunner),
		natsrpc.Handle(runners.SubjectRegenerateSecret, func(ctx context.Context, r runners.RegenerateSecretRequest) (runners.MachineSecret, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !isAdmin(ctx) {
				return runners.MachineSecret{}, errNotAdmin
			}
			if f.findRunner(r.ID) < 0 {
				return runners.MachineSecret{}, errs.E(errs.NotFound, "no such runner")
			}
			f.runners.regenerated++
			sec := runners.SecretPrefix + "regenerated" + strconv.Itoa(f.runners.regenerated) + "Zq9"
			f.runners.secrets[r.ID] = sec
			return runners.MachineSecret{MachineSecret: sec}, nil
		}),
		natsrpc.Handle(runners.SubjectDelete, func(ctx context.Context, r runners.DeleteRequest) (runners.DeleteResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !isAdmin(ctx) {
				return runners.DeleteResponse{}, errNotAdmin
			}
			i := f.findRunner(r.ID)
			if i < 0 {
				return runners.DeleteResponse{}, errs.E(errs.NotFound, "no such runner")
			}
			f.runners.items = slices.Delete(f.runners.items, i, i+1)
			return runners.DeleteResponse{}, nil
		}),
	}
}

func (f *fakeHub) listRunners(_ context.Context, r runners.ListRequest) (runners.ListResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runners.lastList = r
	if r.Status != "" && !slices.Contains(runners.Statuses, r.Status) {
		return runners.ListResponse{}, errs.Ef(errs.InvalidArgument, "status must be one of %s", strings.Join(runners.Statuses, ", "))
	}
	var out runners.ListResponse
	for _, it := range f.runners.items {
		if (r.Environment == "" || it.Environment == r.Environment) && (r.Status == "" || it.Status == r.Status) {
			out.Items = append(out.Items, it)
		}
	}
	if r.Cursor == "" {
		out.NextCursor = f.runners.nextCursor
	}
	return out, nil
}

func (f *fakeHub) registerRunner(ctx context.Context, r runners.RegisterRequest) (runners.Registered, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case !isAdmin(ctx):
		return runners.Registered{}, errNotAdmin
	case r.Name == "":
		return runners.Registered{}, errs.E(errs.InvalidArgument, "name is required")
	case !slices.Contains(runners.Environments, r.Environment):
		return runners.Registered{}, errs.E(errs.InvalidArgument, "environment must be one of Development, Staging, Production")
	case slices.ContainsFunc(f.runners.items, func(it runners.Runner) bool { return it.Name == r.Name }):
		return runners.Registered{}, errs.E(errs.Conflict, "a runner with this name already exists")
	case len(f.runners.items) >= maxRunners:
		return runners.Registered{}, errs.Ef(errs.LicenseLimit, "the license allows %d runners and %d are registered", maxRunners, len(f.runners.items))
	}
	f.runners.registered++
	id := "r-new-" + strconv.Itoa(f.runners.registered)
	run := runners.Runner{ID: id, Name: r.Name, Environment: r.Environment, Labels: r.Labels,
		Status: runners.StatusNeverConnected, CreatedAt: time.Now()}
	f.runners.items = append(f.runners.items, run)
	sec := runners.SecretPrefix + "fresh" + strconv.Itoa(f.runners.registered) + "Kx7"
	f.runners.secrets[id] = sec
	return runners.Registered{Runner: run, MachineSecret: sec}, nil
}
