package user

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/errs"
)

// Principal is who a session token belongs to.
type Principal struct {
	User      User
	SessionID string
	ExpiresAt time.Time
}

var errUnauthenticated = errs.E(errs.Unauthenticated, "the session is invalid or has ended; sign in again")

// Authenticate resolves a session token. The session must not have been
// idle for IdleTimeout nor be older than AbsoluteTimeout, and its user must
// be enabled. Use is written back at most once per TouchInterval.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	sess, u, err := s.sessionOf(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt()) {
		if err := s.Store.DeleteSession(ctx, sess.ID); err != nil {
			s.Log.WarnContext(ctx, "delete expired session", "session_id", sess.ID, "err", err)
		}
		return Principal{}, errUnauthenticated
	}
	if u.Disabled {
		return Principal{}, errUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) >= TouchInterval {
		if err := s.Store.TouchSession(ctx, sess.ID, now); err != nil {
			return Principal{}, fmt.Errorf("authenticate: %w", err)
		}
		sess.LastSeenAt = now
	}
	return Principal{User: u, SessionID: sess.ID, ExpiresAt: sess.ExpiresAt()}, nil
}

// sessionOf finds the session of token; unauthenticated when there is none.
func (s *Service) sessionOf(ctx context.Context, token string) (Session, User, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return Session{}, User{}, errUnauthenticated
	}
	sess, u, err := s.Store.SessionByTokenHash(ctx, hash)
	if errs.Is(err, errs.NotFound) {
		return Session{}, User{}, errUnauthenticated
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("find session: %w", err)
	}
	return sess, u, nil
}

// Logout ends the session of token at once; its owner is the event's actor.
func (s *Service) Logout(ctx context.Context, token string) error {
	sess, u, err := s.sessionOf(ctx, token)
	if err != nil {
		return err
	}
	ev := event("auth.logout", u.ID, map[string]any{"session_id": sess.ID})
	ev.Actor = actorOf(u)
	err = s.Store.EndSession(ctx, sess.ID, ev)
	if errs.Is(err, errs.NotFound) {
		return errUnauthenticated
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.sessionsChanged(ctx, u.ID)
	return nil
}

// SweepSessions deletes expired sessions now and every interval until ctx
// ends. Authenticate refuses them anyway; this keeps the table small.
func (s *Service) SweepSessions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := s.now()
		n, err := s.Store.DeleteExpiredSessions(ctx, now.Add(-AbsoluteTimeout), now.Add(-IdleTimeout))
		switch {
		case err != nil && ctx.Err() == nil:
			s.Log.WarnContext(ctx, "sweep expired sessions", "err", err)
		case n > 0:
			s.Log.InfoContext(ctx, "swept expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
