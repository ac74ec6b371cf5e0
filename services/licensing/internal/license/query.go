package license

import (
	"context"
	"fmt"

	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
)

// Snapshot is the license's state as GET /api/v1/license shows it.
type Snapshot struct {
	License        License
	Evaluation     Evaluation
	InstallationID string
	Runners        int
	RunnersNote    string // set when Runners could not be counted
	Pending        int    // online reports waiting for the portal
	ClockRollback  bool
}

// Status describes the active license now, or returns ErrNoLicense.
func (s *Service) Status(ctx context.Context) (Snapshot, error) {
	lic, ev, c, err := s.evaluate(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	s.cfg.Meter.Expiry(lic.Document.ExpiresAt, ev.DaysLeft) // an activation shows at once
	inst, err := s.Installation(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	pending, err := s.cfg.Store.CountPending(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("license status: %w", err)
	}
	snap := Snapshot{License: lic, Evaluation: ev, InstallationID: inst.ID, Pending: pending, ClockRollback: c.RollbackSince != nil}
	if snap.Runners, err = s.countRunners(ctx); err != nil {
		s.cfg.Log.WarnContext(ctx, "license status without runner count", "err", err)
		snap.RunnersNote = "the runners service did not answer; the runner count is unknown"
	}
	return snap, nil
}

// Check decides whether action may happen now; runners is the count after it.
// It returns the license status when allowed.
func (s *Service) Check(ctx context.Context, action string, runners int) (string, error) {
	lic, ev, _, err := s.evaluate(ctx)
	if err != nil {
		return "", err
	}
	return ev.Status, ev.Allows(lic, action, runners)
}

// AdminEmail is the active license's admin email, for the first-admin
// bootstrap; refused when no license is active or it has expired (grace is fine).
func (s *Service) AdminEmail(ctx context.Context) (string, error) {
	lic, ev, _, err := s.evaluate(ctx)
	if err != nil {
		return "", err
	}
	if ev.Status == contract.StatusExpired {
		return "", errs.E(errs.LicenseRequired, ev.Warning)
	}
	return lic.Document.AdminEmail, nil
}
