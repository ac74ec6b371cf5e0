// Package asset is the runners service's assets: named settings and
// credentials robots need, with one value per scope (global, an
// environment, a runner), sealed at rest under the asset key ring
// (libs/envelope). People manage them (any role reads; DEVELOPER and ADMIN
// write) and never see a credential or secret value again once written; a
// runner reads, for its scope, the values of the assets its job's package
// declares, while it holds that job. The jobs domain asks, before it starts
// a job, whether every asset the package declares has a value that could
// reach it (CheckAvailable).
package asset

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/access"
)

// Page sizes of the list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Keys hands out the key ring values are sealed under; an error (errs
// Unavailable, typically) when the key file cannot be used.
type Keys interface {
	Keyring() (*envelope.Keyring, error)
}

// Runner is a registered runner as assets see it.
type Runner struct {
	ID          string
	Name        string
	Environment string
}

// Runners is what assets ask of the registry.
type Runners interface {
	// RunnerByID returns a registered runner (not_found when none is).
	RunnerByID(ctx context.Context, id string) (Runner, error)
}

// Meter counts runner reads (may be nil).
type Meter interface {
	// AssetRead counts a runner's read by outcome: ok, denied, missing, unavailable.
	AssetRead(outcome string)
}

// Outcomes of a runner's read, as the metric labels them.
const (
	ReadOK          = "ok"
	ReadDenied      = "denied"
	ReadMissing     = "missing"
	ReadUnavailable = "unavailable"
)

// Deps are what a Service is built from.
type Deps struct {
	Store   Store
	Keys    Keys
	Runners Runners
	Meter   Meter
	Log     *slog.Logger
	Now     func() time.Time
}

// Service is the assets domain's operations.
type Service struct{ Deps }

// NewService checks d and fills its defaults.
func NewService(d Deps) (*Service, error) {
	if d.Store == nil || d.Keys == nil || d.Runners == nil || d.Log == nil {
		return nil, errors.New("asset service: missing dependency")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Meter == nil {
		d.Meter = noMeter{}
	}
	return &Service{Deps: d}, nil
}

type noMeter struct{}

func (noMeter) AssetRead(string) {}

// now is the service's clock at the precision PostgreSQL keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// keyring is the key ring, or unavailable with the holder's message.
func (s *Service) keyring() (*envelope.Keyring, error) {
	k, err := s.Keys.Keyring()
	if err == nil && k == nil {
		err = errors.New("no key ring")
	}
	if err != nil {
		if errs.KindOf(err) == errs.Unavailable {
			return nil, err
		}
		return nil, errs.Wrap(errs.Unavailable, "asset values cannot be used: the asset key file is not loaded", err)
	}
	return k, nil
}

func requireReader(ctx context.Context) error {
	return access.Require(ctx, identity.RoleOperator, "reading assets")
}

func requireWriter(ctx context.Context, what string) error {
	return access.Require(ctx, identity.RoleDeveloper, what)
}

// actorID is who asks, as an asset records its creator and writers.
func actorID(ctx context.Context) string { return caller.ActorFromContext(ctx).ID }

// event is an audit event about an asset; the actor comes from ctx unless
// set. details never hold a value.
func event(action string, a Stored, details map[string]any) audit.Event {
	if details == nil {
		details = map[string]any{}
	}
	details["name"] = a.Name
	details["type"] = a.Type
	return audit.Event{Action: action, Target: audit.Target{Type: "asset", ID: a.ID}, Details: details}
}

func firstError(list ...error) error {
	for _, err := range list {
		if err != nil {
			return err
		}
	}
	return nil
}
