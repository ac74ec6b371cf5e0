package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
)

// HeartbeatInterval is how often agents are told to send a heartbeat. It is a
// constant rather than a setting because libs/config has no runners key for it
// yet; Deps.Interval overrides it (tests, and the setting once it exists).
const HeartbeatInterval = 15 * time.Second

// OnlineIntervals is how many intervals after its last heartbeat a runner is online.
const OnlineIntervals = 3

// Failed-authentication throttling per source address: a burst of 60, then
// one a second. Successful authentications take nothing, so runners behind
// one address (a NAT, an untrusted proxy) never throttle each other, and a
// mass regeneration (every affected agent fails once, then stops) fits in
// the burst; only failures count. Once an address has used them up, every
// attempt from it, right secret or wrong, is rate_limited unchecked and
// unaudited until a token is back (at most FailureRefill after its last
// counted failure), so the answer never tells a guesser which secret is
// right. The trade-off: a guesser who keeps failing from an agent's own
// address keeps that address locked while it does; keying the bucket by
// source address rather than runner id confines that to agents sharing the
// guesser's address (a runner id is no secret, and anyone could lock a
// runner by its id).
const (
	FailureBurst  = 60
	FailureRefill = time.Second
)

// Deps are what a Service is built from.
type Deps struct {
	Store     Store
	Cache     CredentialCache
	Presences Presences
	Limiter   Limiter
	License   License
	Meter     Meter // may be nil
	Log       *slog.Logger
	Now       func() time.Time // time.Now unless a test controls the clock
	Interval  time.Duration    // HeartbeatInterval when zero
	// HubVersion is the version agents are held to (runners.AgentVersionRefusal);
	// buildinfo.Version when empty.
	HubVersion string
}

// Service is the registry's operations.
type Service struct{ Deps }

// NewService checks d and fills its defaults.
func NewService(d Deps) (*Service, error) {
	if d.Store == nil || d.Cache == nil || d.Presences == nil || d.Limiter == nil || d.License == nil || d.Log == nil {
		return nil, errors.New("runner service: missing dependency")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Interval <= 0 {
		d.Interval = HeartbeatInterval
	}
	if d.HubVersion == "" {
		d.HubVersion = buildinfo.Version
	}
	if d.Meter == nil {
		d.Meter = noMeter{}
	}
	return &Service{Deps: d}, nil
}

type noMeter struct{}

func (noMeter) AuthFailed(string) {}

// now is the service's clock at the precision PostgreSQL keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// requireAdmin re-checks, behind the gateway, that an administrator asks.
func requireAdmin(ctx context.Context) error {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || a.Role != identity.RoleAdmin {
		return errs.E(errs.PermissionDenied, "registering, deleting and regenerating runners needs the ADMIN role")
	}
	return nil
}

// requireUser re-checks that a signed-in user of any role asks.
func requireUser(ctx context.Context) error {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || !identity.RoleAtLeast(a.Role, identity.RoleOperator) {
		return errs.E(errs.PermissionDenied, "seeing runners needs a signed-in user")
	}
	return nil
}

// event is an audit event about a runner; the actor is taken from ctx.
func event(action string, r Runner, details map[string]any) audit.Event {
	if details == nil {
		details = map[string]any{}
	}
	details["name"] = r.Name
	details["environment"] = r.Environment
	return audit.Event{Action: action, Target: audit.Target{Type: "runner", ID: r.ID}, Details: details}
}
