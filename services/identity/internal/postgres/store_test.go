package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/identity/internal/postgres"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*pgxpool.Pool, *postgres.Store) {
	t.Helper()
	pool := pgtest.Pool(t, "identity")
	files, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(context.Background(), pool, "identity", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	return pool, postgres.NewStore(pool, outbox.Writer{Service: "identity"})
}

func newUser(email string, created time.Time) user.User {
	return user.User{ID: uuid.NewString(), Email: email, Name: email, Role: user.RoleOperator, PasswordHash: "$argon2id$h-" + email, CreatedAt: created}
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListUsersOrder(t *testing.T) {
	pool, s := setup(t)
	ctx := context.Background()
	for i := range 5 {
		if err := s.CreateUser(ctx, newUser(fmt.Sprintf("u%d@x.test", i), t0), audit.Event{Action: "user.create"}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("users created at the same instant page by id without loss or repeat", func(t *testing.T) {
		var seen []string
		var after *user.Cursor
		for {
			page, err := s.ListUsers(ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, u := range page {
				seen = append(seen, u.ID)
			}
			last := page[len(page)-1]
			after = &user.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		if len(seen) != 5 {
			t.Fatalf("saw %d users: %v", len(seen), seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i-1] >= seen[i] {
				t.Fatalf("not ordered by id: %v", seen)
			}
		}
	})
	t.Run("a taken email in another case is a conflict and leaves no event", func(t *testing.T) {
		before := count(t, pool, "audit_outbox")
		err := s.CreateUser(ctx, newUser("U0@X.TEST", t0), audit.Event{Action: "user.create"})
		if !errs.Is(err, errs.Conflict) || count(t, pool, "audit_outbox") != before {
			t.Fatalf("CreateUser = %v", err)
		}
	})
}

func TestStartSession(t *testing.T) {
	pool, s := setup(t)
	ctx := context.Background()
	u := newUser("ada@x.test", t0)
	if err := s.CreateUser(ctx, u, audit.Event{Action: "user.create"}); err != nil {
		t.Fatal(err)
	}
	session := func() user.Session {
		h := sha256.Sum256([]byte(uuid.NewString()))
		return user.Session{ID: uuid.NewString(), TokenHash: h[:], UserID: u.ID, CreatedAt: t0, LastSeenAt: t0}
	}
	t.Run("a sign-in checked against a hash that has since changed fails and records nothing", func(t *testing.T) {
		before := count(t, pool, "audit_outbox")
		err := s.StartSession(ctx, session(), user.Login{UserID: u.ID, VerifiedHash: "$argon2id$old", At: t0}, audit.Event{Action: "auth.login"})
		if !errs.Is(err, errs.InvalidCredentials) || count(t, pool, "sessions") != 0 || count(t, pool, "audit_outbox") != before {
			t.Fatalf("StartSession = %v", err)
		}
	})
	t.Run("a sign-in stores the session, last_login_at and a new hash", func(t *testing.T) {
		sess := session()
		err := s.StartSession(ctx, sess, user.Login{UserID: u.ID, VerifiedHash: u.PasswordHash, NewHash: "$argon2id$new", At: t0}, audit.Event{Action: "auth.login"})
		if err != nil {
			t.Fatal(err)
		}
		got, gu, err := s.SessionByTokenHash(ctx, sess.TokenHash)
		if err != nil || got.ID != sess.ID || !bytes.Equal(got.TokenHash, sess.TokenHash) || gu.PasswordHash != "$argon2id$new" ||
			gu.LastLoginAt == nil || !gu.LastLoginAt.Equal(t0) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("session %+v, user %+v, %v", got, gu, err)
		}
	})
	t.Run("expired sessions are swept", func(t *testing.T) {
		n, err := s.DeleteExpiredSessions(ctx, t0.Add(time.Second), t0)
		if err != nil || n != 1 || count(t, pool, "sessions") != 0 {
			t.Fatalf("DeleteExpiredSessions = %d, %v", n, err)
		}
	})
}
