package user

import (
	"context"
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
)

// RecordExternalFailure records a sign-in a provider could not vouch for (a
// bad state, an invalid ID token, no mapped role...) as a refused auth.login
// with reason, and detail (such as a token verifier's reason) when not
// empty; it returns err.
func (s *Service) RecordExternalFailure(ctx context.Context, ext External, reason, detail string, err error) error {
	details := map[string]any{"source": ext.Source, "provider": ext.Provider}
	if detail != "" {
		details["detail"] = Truncate(detail, 300)
	}
	if ext.ExternalID != "" {
		details["external_id"] = Truncate(ext.ExternalID, 300)
	}
	ev := event("auth.login", "", details)
	ev.Outcome, ev.Reason = audit.Failure, reason
	ev.Actor = audit.Actor{Type: audit.ActorUser, Email: Truncate(strings.TrimSpace(ext.Email), MaxEmailLen)}
	if rerr := s.Store.RecordEvent(ctx, ev); rerr != nil {
		return fmt.Errorf("record refused sign-in: %w", rerr)
	}
	return err
}
