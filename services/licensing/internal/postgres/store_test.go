package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	licfile "github.com/exekra/hub/libs/license"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/licensing/internal/license"
)

var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *Store {
	t.Helper()
	pool := pgtest.Pool(t, "licensing")
	files, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(context.Background(), pool, "licensing", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	return NewStore(pool, outbox.Writer{Service: "licensing"})
}

func activate(t *testing.T, s *Store, id string) {
	t.Helper()
	err := s.ReplaceLicense(context.Background(), func(context.Context, *license.License) (license.License, audit.Event, error) {
		doc := licfile.Document{LicenseID: id, MaxRunners: 1, ExpiresAt: t0.Add(time.Hour)}
		return license.License{Document: doc, File: "file", Signature: "sig", ActivatedAt: t0},
			audit.Event{Action: "license.activate", Target: audit.Target{Type: "license", ID: id}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t.Run("no license reads as license required", func(t *testing.T) {
		if _, err := s.ActiveLicense(ctx); !errors.Is(err, license.ErrNoLicense) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a replacement leaves exactly one active license", func(t *testing.T) {
		activate(t, s, "A")
		activate(t, s, "B")
		l, err := s.ActiveLicense(ctx)
		var n int
		s.pool.QueryRow(ctx, "SELECT count(*) FROM licenses").Scan(&n)
		if err != nil || l.Document.LicenseID != "B" || n != 2 || l.File != "file" {
			t.Fatalf("active = %+v, %v; rows %d", l, err, n)
		}
	})
	t.Run("a refused replacement changes nothing and writes no event", func(t *testing.T) {
		refusal := errs.E(errs.PermissionDenied, "no")
		err := s.ReplaceLicense(ctx, func(_ context.Context, cur *license.License) (license.License, audit.Event, error) {
			if cur == nil || cur.Document.LicenseID != "B" {
				t.Fatalf("current = %+v", cur)
			}
			return license.License{}, audit.Event{}, refusal
		})
		var n int
		s.pool.QueryRow(ctx, "SELECT count(*) FROM audit_outbox").Scan(&n)
		if !errors.Is(err, refusal) || n != 2 {
			t.Fatalf("err = %v, events %d", err, n)
		}
	})
	t.Run("the installation is made once", func(t *testing.T) {
		k1, _, _ := licfile.Keygen()
		k2, _, _ := licfile.Keygen()
		a, err := s.EnsureInstallation(ctx, license.Installation{ID: "11111111-1111-4111-8111-111111111111", Key: k1}, t0)
		b, err2 := s.EnsureInstallation(ctx, license.Installation{ID: "22222222-2222-4222-8222-222222222222", Key: k2}, t0)
		if err != nil || err2 != nil || a.ID != b.ID || !b.Key.Equal(k1) {
			t.Fatalf("installations %s, %s; %v %v", a.ID, b.ID, err, err2)
		}
	})
	t.Run("validation never moves back", func(t *testing.T) {
		later, earlier := t0.Add(2*time.Hour), t0.Add(time.Hour)
		for _, at := range []time.Time{later, earlier} {
			if err := s.Record(ctx, license.Outcome{ValidatedAt: &at, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		l, _ := s.ActiveLicense(ctx)
		if l.LastValidatedAt == nil || !l.LastValidatedAt.Equal(later) {
			t.Fatalf("last validated = %v", l.LastValidatedAt)
		}
	})
	t.Run("an unknown report is not found", func(t *testing.T) {
		if _, err := s.FindReport(ctx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestValidationLock(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t.Run("only one holder validates at a time", func(t *testing.T) {
		var inner bool
		ran, err := s.WithValidationLock(ctx, true, func(ctx context.Context) error {
			var err error
			inner, err = s.WithValidationLock(ctx, false, func(context.Context) error {
				t.Fatal("ran while the lock was held")
				return nil
			})
			return err
		})
		if err != nil || !ran || inner {
			t.Fatalf("outer ran %v, inner ran %v, err %v", ran, inner, err)
		}
	})
	t.Run("the lock is free again afterwards", func(t *testing.T) {
		ran, err := s.WithValidationLock(ctx, false, func(context.Context) error { return nil })
		if err != nil || !ran {
			t.Fatalf("ran %v, err %v", ran, err)
		}
	})
}
