package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/nats-io/nats.go"
)

// SessionTTL is how long a gateway trusts what identity said of a token.
const SessionTTL = 5 * time.Second

// maxSessions bounds the cache; past it, it starts over.
const maxSessions = 100_000

// Sessions remembers for a few seconds whom a session token belongs to, so
// that a request does not ask identity every time. It stays correct without
// waiting for the TTL: identity announces every change that may end or narrow
// a user's sessions (identity.SubjectSessionsChanged) and every gateway drops
// that user's entries at once. An entry also ends with its session, and all
// end when the NATS connection was interrupted (announcements may have been
// missed meanwhile). Only valid sessions are remembered.
type Sessions struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cachedSession
	changes uint64 // announcements and connection changes seen
}

// Stamp is when identity was asked, as Put needs to know it.
type Stamp uint64

type cachedSession struct {
	principal identity.Principal
	until     time.Time
}

// NewSessions subscribes to identity's announcements on nc and forgets
// everything whenever nc loses or regains its server, until nc is closed.
func NewSessions(nc *nats.Conn, ttl time.Duration) (*Sessions, error) {
	s := &Sessions{ttl: ttl, now: time.Now, entries: map[[sha256.Size]byte]cachedSession{}}
	status := nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CONNECTED, nats.CLOSED)
	go func() {
		for st := range status {
			s.forget(func(cachedSession) bool { return true })
			if st == nats.CLOSED {
				return
			}
		}
	}()
	if _, err := nc.Subscribe(identity.SubjectSessionsChanged, s.changed); err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", identity.SubjectSessionsChanged, err)
	}
	// The server knows of the subscription once a round trip after it is done.
	if err := nc.Flush(); err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", identity.SubjectSessionsChanged, err)
	}
	return s, nil
}

func (s *Sessions) changed(msg *nats.Msg) {
	var ev identity.SessionsChanged
	if err := json.Unmarshal(msg.Data, &ev); err != nil || ev.UserID == "" {
		s.forget(func(cachedSession) bool { return true }) // unreadable: be safe
		return
	}
	s.forget(func(e cachedSession) bool { return e.principal.User.ID == ev.UserID })
}

func (s *Sessions) forget(match func(cachedSession) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes++
	for k, e := range s.entries {
		if match(e) {
			delete(s.entries, k)
		}
	}
}

// Get returns what identity said of token within the TTL, if it still holds.
func (s *Sessions) Get(token string) (identity.Principal, bool) {
	key := sha256.Sum256([]byte(token))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return identity.Principal{}, false
	}
	if !now.Before(e.until) {
		delete(s.entries, key)
		return identity.Principal{}, false
	}
	return e.principal, true
}

// Stamp is taken before identity is asked.
func (s *Sessions) Stamp() Stamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stamp(s.changes)
}

// Put remembers identity's answer for token, asked at stamp. An answer is
// not remembered when a change was announced or the connection was
// interrupted while identity was asked: it may predate the change.
func (s *Sessions) Put(token string, p identity.Principal, stamp Stamp) {
	key := sha256.Sum256([]byte(token))
	until := s.now().Add(s.ttl)
	if p.ExpiresAt.Before(until) {
		until = p.ExpiresAt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if uint64(stamp) != s.changes {
		return
	}
	if len(s.entries) >= maxSessions {
		clear(s.entries)
	}
	s.entries[key] = cachedSession{principal: p, until: until}
}
