package license

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
)

// Activate verifies a license file and makes it the active license. While
// none is active anyone may; afterwards only an administrator (admin), and
// not with a license that allows fewer runners than are registered.
func (s *Service) Activate(ctx context.Context, text string, admin bool) (Snapshot, error) {
	at, err := s.observe(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if !admin { // who may replace is decided before the file is looked at
		if _, err := s.cfg.Store.ActiveLicense(ctx); err == nil {
			err = errs.E(errs.PermissionDenied, "a license is already active; only an administrator can replace it")
			s.auditFailure(ctx, ActionActivate, "", err, nil)
			return Snapshot{}, fmt.Errorf("activate license: %w", err)
		} else if !errors.Is(err, ErrNoLicense) {
			return Snapshot{}, fmt.Errorf("activate license: %w", err)
		}
	}
	doc, err := licfile.Verify(text, s.cfg.Trusted, at)
	if err == nil {
		err = s.replace(ctx, text, doc, admin, at)
	}
	if err != nil {
		s.auditFailure(ctx, ActionActivate, doc.LicenseID, err, nil)
		return Snapshot{}, fmt.Errorf("activate license: %w", err)
	}
	return s.Status(ctx)
}

func (s *Service) replace(ctx context.Context, text string, doc licfile.Document, admin bool, at time.Time) error {
	sig, err := licfile.SignatureOf(text)
	if err != nil {
		return err
	}
	lic := License{Document: doc, File: text, Signature: sig, ActivatedAt: at}
	// Activating a license again must not reset its validation clock.
	prior, err := s.cfg.Store.PriorActivation(ctx, doc.LicenseID)
	if err != nil {
		return fmt.Errorf("prior activation: %w", err)
	}
	if prior != nil {
		lic.ActivatedAt, lic.LastValidatedAt = prior.ActivatedAt, prior.LastValidatedAt
	}
	return s.cfg.Store.ReplaceLicense(ctx, func(ctx context.Context, cur *License) (License, audit.Event, error) {
		if err := s.mayReplace(ctx, cur, doc, admin); err != nil {
			return License{}, audit.Event{}, err
		}
		return lic, activated(doc, cur), nil
	})
}

// mayReplace decides whether doc may replace cur (nil: nothing to replace).
// The runner count is asked only for a replacement; when it cannot be had,
// only a license allowing at least as many runners as the current one passes.
func (s *Service) mayReplace(ctx context.Context, cur *License, doc licfile.Document, admin bool) error {
	if cur == nil {
		return nil
	}
	if !admin {
		return errs.E(errs.PermissionDenied, "a license is already active; only an administrator can replace it")
	}
	n, err := s.countRunners(ctx)
	switch {
	case err == nil && n > doc.MaxRunners:
		return errs.Ef(errs.InvalidLicense, "the new license allows %d runners but %d are registered; delete %d runners before activating it",
			doc.MaxRunners, n, n-doc.MaxRunners)
	case err != nil && doc.MaxRunners < cur.Document.MaxRunners:
		return errs.Wrap(errs.Unavailable, fmt.Sprintf("the new license allows fewer runners (%d) than the current one (%d) and the "+
			"number of registered runners cannot be checked now; try again shortly", doc.MaxRunners, cur.Document.MaxRunners), err)
	}
	return nil
}

func (s *Service) countRunners(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CountTimeout)
	defer cancel()
	n, err := s.cfg.Runners.CountRunners(ctx)
	if err != nil {
		return 0, fmt.Errorf("count runners: %w", err)
	}
	return n, nil
}

func activated(doc licfile.Document, cur *License) audit.Event {
	details := map[string]any{
		"licensee": doc.Licensee, "max_runners": doc.MaxRunners, "mode": doc.Validation.Mode,
		"not_before": doc.NotBefore.UTC().Format(time.RFC3339), "expires_at": doc.ExpiresAt.UTC().Format(time.RFC3339),
	}
	if cur != nil {
		details["replaced_license_id"] = cur.Document.LicenseID
	}
	return audit.Event{Action: ActionActivate, Target: target(doc.LicenseID), Outcome: audit.Success, Details: details}
}
