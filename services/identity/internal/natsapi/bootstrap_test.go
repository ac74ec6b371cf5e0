package natsapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
)

func TestBootstrap(t *testing.T) {
	h := newHarness(t, fastParams)
	ctx := anonymous()
	boot := func(email, pw, name string) (identity.User, error) {
		return call[identity.User](ctx, h, identity.SubjectBootstrap, identity.BootstrapRequest{Email: email, Password: pw, Name: name})
	}
	state := func() bool {
		return must[identity.SetupState](t)(call[identity.SetupState](ctx, h, identity.SubjectSetupState, identity.SetupStateRequest{})).Bootstrapped
	}

	t.Run("a fresh Hub is not bootstrapped", func(t *testing.T) {
		if state() {
			t.Fatal("bootstrapped before any user")
		}
	})
	t.Run("without an active license it is refused as license_required", func(t *testing.T) {
		_, err := boot(adminEmail, password, "Ada")
		wantKind(t, err, errs.LicenseRequired)
	})
	h.license("ada@example.test")
	refusals := []struct {
		name, email, password, userName string
		kind                            errs.Kind
	}{
		{"an email other than the license's is refused as email_mismatch", "eve@example.test", password, "Eve", errs.EmailMismatch},
		{"a malformed email is refused as invalid_argument", "ada-at-example", password, "Ada", errs.InvalidArgument},
		{"a short password is refused as invalid_argument", adminEmail, "short", "Ada", errs.InvalidArgument},
		{"a common password is refused as invalid_argument", adminEmail, "Password123", "Ada", errs.InvalidArgument},
		{"a missing name is refused as invalid_argument", adminEmail, password, " ", errs.InvalidArgument},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := boot(tt.email, tt.password, tt.userName)
			wantKind(t, err, tt.kind)
		})
	}
	t.Run("the license's admin email in another case creates the first ADMIN", func(t *testing.T) {
		u, err := boot(adminEmail, password, "Ada")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || u.Email != adminEmail || u.Role != identity.RoleAdmin || u.Disabled || u.LastLoginAt != nil {
			t.Fatalf("user = %+v", u)
		}
		if !state() {
			t.Fatal("not bootstrapped after bootstrap")
		}
	})
	t.Run("a second bootstrap is refused as already_bootstrapped", func(t *testing.T) {
		_, err := boot(adminEmail, password, "Ada again")
		wantKind(t, err, errs.AlreadyBootstrap)
	})
	t.Run("once bootstrapped, an expired license no longer matters", func(t *testing.T) {
		h.license("")
		_, err := boot(adminEmail, password, "Ada again")
		wantKind(t, err, errs.AlreadyBootstrap)
	})
}

func TestBootstrapConcurrent(t *testing.T) {
	h := newHarness(t, fastParams)
	h.license(adminEmail)
	const n = 20
	errsOf := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req := identity.BootstrapRequest{Email: strings.ToUpper(adminEmail), Password: password, Name: "Ada"}
			_, errsOf[i] = call[identity.User](anonymous(), h, identity.SubjectBootstrap, req)
		})
	}
	close(start)
	wg.Wait()

	t.Run("of 20 concurrent calls exactly one succeeds and the others are already_bootstrapped", func(t *testing.T) {
		won := 0
		for _, err := range errsOf {
			switch {
			case err == nil:
				won++
			case !errs.Is(err, errs.AlreadyBootstrap):
				t.Errorf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d calls succeeded, want 1", won)
		}
	})
	t.Run("exactly one user and one bootstrap event exist", func(t *testing.T) {
		var users int
		if err := h.pool.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&users); err != nil || users != 1 {
			t.Fatalf("users = %d, %v", users, err)
		}
		if evs := h.events(t); len(evs) != 1 || evs[0].Action != "setup.bootstrap" {
			t.Fatalf("events = %+v", evs)
		}
	})
}
