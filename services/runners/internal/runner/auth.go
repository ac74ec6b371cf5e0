package runner

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// Presented is what a runner presents with a request, as the gateway passes it.
type Presented struct {
	RunnerID     string
	SecretSHA256 string // hex SHA-256 of the presented secret
	Protocol     string // the Exekra-Protocol header; "" means 1
	UserAgent    string
}

// Reasons of refused authentications: the audit event's reason and the
// metric's label. They are never shown to the caller.
const (
	ReasonMalformed = "malformed_credentials"
	ReasonUnknown   = "unknown_runner"
	ReasonDeleted   = "deleted_runner"
	ReasonWrong     = "wrong_secret"
	ReasonThrottled = "throttled"
)

var errInvalidCredentials = errs.E(errs.InvalidCredentials,
	"the runner id or machine secret is not valid: the secret may have been regenerated or the runner deleted")

// Authenticate checks a runner's credentials and returns the runner with its status.
func (s *Service) Authenticate(ctx context.Context, p Presented) (View, error) {
	c, err := s.authenticate(ctx, p)
	if err != nil {
		return View{}, err
	}
	vs, err := s.views(ctx, []Runner{c.Runner})
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}

// AuthenticateRunner is Authenticate without the runner's presence: what
// the jobs and package calls need (one Redis round trip fewer).
func (s *Service) AuthenticateRunner(ctx context.Context, p Presented) (Runner, error) {
	c, err := s.authenticate(ctx, p)
	return c.Runner, err
}

// authenticate checks the protocol, then whether the source address is
// locked, then the credentials: from the cache, or from PostgreSQL (filling
// the cache) when the cache has nothing valid. The lock and the cached
// credential are read in one round trip, and a locked address is refused
// before any secret is compared: were the right secret let through while
// wrong ones get rate_limited, the answer would tell a guesser that it has
// found the secret. The attempt takes no token, so neither the right secret
// nor retries prolong or end the lock: it ends one refill period after the
// last counted failure, and the agent, which backs off on rate_limited, is
// back then. It also keeps unknown ids from loading PostgreSQL.
func (s *Service) authenticate(ctx context.Context, p Presented) (Credential, error) {
	if !runners.SupportsProtocol(p.Protocol) {
		return Credential{}, errs.E(errs.InvalidArgument, runners.UnsupportedProtocol(p.Protocol))
	}
	want, err := hex.DecodeString(p.SecretSHA256)
	if _, perr := uuid.Parse(p.RunnerID); perr != nil || len(p.RunnerID) != 36 || err != nil || len(want) != 32 {
		return Credential{}, s.refuse(ctx, p, ReasonMalformed)
	}
	p.RunnerID = strings.ToLower(p.RunnerID) // as PostgreSQL writes it, and so the cache keys it
	e, wait, err := s.Cache.Lookup(ctx, p.RunnerID, s.now(), failureBucket(ctx))
	if err != nil {
		return Credential{}, errs.Wrap(errs.Unavailable, "runner authentication is unavailable for a moment; try again shortly", err)
	}
	if wait > 0 {
		s.Meter.AuthFailed(ReasonThrottled)
		return Credential{}, throttled(wait)
	}
	switch e.State {
	case CacheValid:
		return s.compare(ctx, p, e.Credential, want)
	case CacheDeleted:
		return Credential{}, s.refuse(ctx, p, ReasonDeleted)
	}
	c, err := s.load(ctx, p)
	if err != nil {
		return Credential{}, err
	}
	return s.compare(ctx, p, c, want)
}

// load reads a credential from PostgreSQL and caches it.
func (s *Service) load(ctx context.Context, p Presented) (Credential, error) {
	c, err := s.Store.Credential(ctx, p.RunnerID)
	if errs.Is(err, errs.NotFound) {
		return Credential{}, s.refuse(ctx, p, ReasonUnknown)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("authenticate runner %s: %w", p.RunnerID, err)
	}
	// The cache takes it only if no change overtook this read.
	if err := s.Cache.Put(ctx, CacheEntry{State: CacheValid, Credential: c}); err != nil {
		s.Log.WarnContext(ctx, "cache runner credential", "runner_id", c.Runner.ID, "err", err)
	}
	return c, nil
}

func (s *Service) compare(ctx context.Context, p Presented, c Credential, want []byte) (Credential, error) {
	if subtle.ConstantTimeCompare(c.SecretSHA256, want) != 1 {
		return Credential{}, s.refuse(ctx, p, ReasonWrong)
	}
	return c, nil
}

// refuse counts a failed authentication, takes a token from the source
// address's bucket and audits the failure (never the presented secret or
// hash); an address whose bucket is empty gets rate_limited, unaudited.
func (s *Service) refuse(ctx context.Context, p Presented, reason string) error {
	wait, err := s.Limiter.Take(ctx, s.now(), []Bucket{failureBucket(ctx)})
	if err != nil {
		s.Meter.AuthFailed(reason)
		return errs.Wrap(errs.Unavailable, "runner authentication is unavailable for a moment; try again shortly", err)
	}
	if wait > 0 {
		s.Meter.AuthFailed(ReasonThrottled)
		return throttled(wait)
	}
	s.Meter.AuthFailed(reason)
	id := p.RunnerID
	if reason == ReasonMalformed {
		id = "" // whatever was sent as the id is not recorded: it might be a pasted secret
	}
	ev := audit.Event{Action: ActionAuthFailure, Outcome: audit.Failure, Reason: reason,
		Actor:   audit.Actor{Type: audit.ActorRunner, ID: id},
		Target:  audit.Target{Type: "runner", ID: id},
		Details: map[string]any{"user_agent": clip(p.UserAgent, MaxUserAgentLen)}}
	if err := s.Store.RecordEvent(ctx, ev); err != nil {
		return fmt.Errorf("record failed runner authentication: %w", err)
	}
	return errInvalidCredentials
}

// failureBucket is the failed-authentication bucket of the request's source address.
func failureBucket(ctx context.Context) Bucket {
	addr := caller.From(ctx).SourceIP
	if addr == "" {
		addr = "unknown" // all callers without an address share one bucket
	}
	return Bucket{Key: "exekra:runners:authfail:" + clip(addr, 64), Burst: FailureBurst, Per: FailureRefill}
}

func throttled(wait time.Duration) error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	return errs.Throttled(fmt.Sprintf("too many failed runner authentications from this address; retry in %d s", secs), wait)
}
