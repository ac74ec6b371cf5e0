package license

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/google/uuid"
)

// Config wires a Service.
type Config struct {
	Store   Store
	Portal  Portal
	Runners RunnerCounter
	Clock   Clock               // default SystemClock
	Trusted []ed25519.PublicKey // vendor keys trusted to sign licenses and receipts
	Version string              // the Hub's version, reported to the portal
	Log     *slog.Logger
	// Tolerance is how far the clock may step back before it is a rollback (default 5m).
	Tolerance time.Duration
	// RetryEvery is how often queued online reports are offered again (default 5m).
	RetryEvery time.Duration
	// CountTimeout bounds one question to the runners service (default 3s).
	CountTimeout time.Duration
	// Meter is told the license's expiry whenever its state is read (every
	// tick and every status); nil: not measured.
	Meter Meter
}

// Meter keeps the license's measurements for operators (Prometheus).
type Meter interface {
	// Expiry is the active license's expires_at and the whole days until
	// it by the service's clock, rounded up (0 once past); the zero time
	// and 0 while none is active.
	Expiry(expiresAt time.Time, daysLeft int)
}

type noMeter struct{}

func (noMeter) Expiry(time.Time, int) {}

// Service is the licensing domain's operations.
type Service struct {
	cfg         Config
	mu          sync.Mutex
	inst        *Installation
	lastAttempt time.Time // of delivering queued reports, by this instance
}

// New returns a Service with cfg's defaults filled in.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = 5 * time.Minute
	}
	if cfg.CountTimeout <= 0 {
		cfg.CountTimeout = 3 * time.Second
	}
	if cfg.Meter == nil {
		cfg.Meter = noMeter{}
	}
	return &Service{cfg: cfg}
}

// Installation returns this Hub's installation, making it (id and key) on first use.
func (s *Service) Installation(ctx context.Context) (Installation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inst != nil {
		return *s.inst, nil
	}
	priv, _, err := licfile.Keygen()
	if err != nil {
		return Installation{}, fmt.Errorf("installation key: %w", err)
	}
	inst, err := s.cfg.Store.EnsureInstallation(ctx, Installation{ID: uuid.NewString(), Key: priv}, s.now())
	if err != nil {
		return Installation{}, fmt.Errorf("installation: %w", err)
	}
	s.inst = &inst
	return inst, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

// observe records the clock (auditing a rollback once) and returns the effective time.
func (s *Service) observe(ctx context.Context) (time.Time, error) {
	now := s.now()
	var rolledBack bool
	c, err := s.cfg.Store.UpdateClock(ctx, func(c ClockState) (ClockState, *audit.Event) {
		next, ev := Observe(c, now, s.cfg.Tolerance)
		rolledBack = ev != nil
		return next, ev
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("observe clock: %w", err)
	}
	if rolledBack {
		s.cfg.Log.WarnContext(ctx, "system clock rolled back; deciding expiry by the highest time seen",
			"clock_now", now, "highest_seen", c.HighestSeen)
	}
	return Effective(now, c), nil
}

// effectiveNow is the effective time without recording anything.
func (s *Service) effectiveNow(ctx context.Context) (time.Time, ClockState, error) {
	c, err := s.cfg.Store.Clock(ctx)
	if err != nil {
		return time.Time{}, c, fmt.Errorf("read clock state: %w", err)
	}
	return Effective(s.now(), c), c, nil
}

// evaluate returns the active license and what it allows now.
func (s *Service) evaluate(ctx context.Context) (License, Evaluation, ClockState, error) {
	lic, err := s.cfg.Store.ActiveLicense(ctx)
	if err != nil {
		return lic, Evaluation{}, ClockState{}, err
	}
	at, c, err := s.effectiveNow(ctx)
	if err != nil {
		return lic, Evaluation{}, c, err
	}
	return lic, Evaluate(lic, at), c, nil
}

// Tick is the periodic work: it records the clock and, for an online
// license, makes the report that is due or offers the queued ones again.
// With several instances, only the one holding the validation lock acts.
func (s *Service) Tick(ctx context.Context) error {
	if _, err := s.observe(ctx); err != nil {
		return err
	}
	lic, err := s.cfg.Store.ActiveLicense(ctx)
	if errors.Is(err, ErrNoLicense) {
		return nil
	}
	if err != nil || lic.Document.Validation.Mode != licfile.ModeOnline {
		return err
	}
	_, err = s.cfg.Store.WithValidationLock(ctx, false, func(ctx context.Context) error { return s.tickLocked(ctx, lic) })
	return err
}

// Run calls Tick every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.WarnContext(ctx, "license tick", "err", err)
		}
		if err := s.measure(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.WarnContext(ctx, "measure the license", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// measure tells the meter the license's expiry now (none while no license is active).
func (s *Service) measure(ctx context.Context) error {
	lic, ev, _, err := s.evaluate(ctx)
	switch {
	case errors.Is(err, ErrNoLicense):
		s.cfg.Meter.Expiry(time.Time{}, 0)
		return nil
	case err != nil:
		return err
	}
	s.cfg.Meter.Expiry(lic.Document.ExpiresAt, ev.DaysLeft)
	return nil
}

// auditFailure writes a refused operation's event in its own transaction.
func (s *Service) auditFailure(ctx context.Context, action, licenseID string, cause error, details map[string]any) {
	kind, msg := errs.Public(cause)
	if details == nil {
		details = map[string]any{}
	}
	details["code"] = string(kind)
	if r := licfile.ReasonOf(cause); r != "" {
		details["reason"] = string(r)
	}
	ev := audit.Event{Action: action, Target: target(licenseID), Outcome: audit.Failure, Reason: msg, Details: details}
	if err := s.cfg.Store.Audit(ctx, ev); err != nil {
		s.cfg.Log.ErrorContext(ctx, "audit refused license operation", "action", action, "err", err)
	}
}
