package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

const goodPassword = "correct horse battery"

// pilotDB connects to the pilot's private PostgreSQL as its owner.
func (h *hub) pilotDB(t testing.TB) *pgx.Conn {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(h.home, "var", "pg-password"))
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://exekra:%s@%s/exekra?sslmode=disable", strings.TrimSpace(string(pw)), h.env["EXEKRA_DATABASE_PRIVATE_LISTEN"])
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// user creates a user with role through the API as admin and returns its id and a session token.
func user(t *testing.T, h *hub, admin, email, role string) (string, string) {
	t.Helper()
	u := h.as(admin).must(http.StatusCreated, "POST", "/api/v1/users",
		map[string]string{"email": email, "password": goodPassword, "name": role + " user", "role": role})
	if u["role"] != role {
		t.Fatalf("created %v, want role %s", u, role)
	}
	return u["id"].(string), login(t, h, email, goodPassword)
}

// TestAPI drives the public API of a licensed, bootstrapped pilot: the whole
// role matrix, the audited actions, and the audit tools.
func TestAPI(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	admin := h.as(adminTok)
	_, opTok := user(t, h, adminTok, "operator@acme.test", "OPERATOR")
	_, devTok := user(t, h, adminTok, "developer@acme.test", "DEVELOPER")
	disabledID, disabledTok := user(t, h, adminTok, "disabled@acme.test", "OPERATOR")
	admin.must(http.StatusOK, "PATCH", "/api/v1/users/"+disabledID, map[string]any{"disabled": true})
	_, outTok := user(t, h, adminTok, "loggedout@acme.test", "OPERATOR")
	h.as(outTok).must(http.StatusNoContent, "POST", "/api/v1/auth/logout", nil)
	_, expiredTok := user(t, h, adminTok, "expired@acme.test", "ADMIN")
	sum := sha256.Sum256([]byte(expiredTok))
	if _, err := h.pilotDB(t).Exec(context.Background(),
		"UPDATE identity.sessions SET created_at = now() - interval '13 hours', last_seen_at = now() - interval '13 hours' WHERE token_hash = $1", sum[:]); err != nil {
		t.Fatal(err)
	}

	fixed := func(tok string) func() string { return func() string { return tok } }
	principals := []principal{
		{"anonymous", "", fixed("")},
		{"OPERATOR", "OPERATOR", fixed(opTok)},
		{"DEVELOPER", "DEVELOPER", fixed(devTok)},
		{"ADMIN", "ADMIN", fixed(adminTok)},
		{"disabled", "", fixed(disabledTok)},
		{"logged out", "", fixed(outTok)},
		{"expired", "", fixed(expiredTok)},
	}
	secrets := []string{goodPassword, adminTok, opTok, devTok, "$argon2id$", "password_hash", "token_hash"}

	t.Run("every route has a row in the access matrix", func(t *testing.T) {
		checkMatrixCoversRoutes(t, h, matrixRows(goodPassword))
	})
	t.Run("every route answers every kind of caller exactly as its policy says", func(t *testing.T) {
		rows := matrixRows(goodPassword)
		checks := runMatrix(t, h, rows, principals, secrets, func(p principal, email string) string {
			return login(t, h, email, goodPassword) // logout ends the token: use a fresh one
		})
		t.Logf("access matrix: %d routes x %d callers = %d checks", len(rows), len(principals), checks)
	})
	t.Run("health shows the version and commit every binary prints", func(t *testing.T) {
		checkVersionsAgree(t, h)
	})
	t.Run("a non-admin asking for ADMIN is refused", func(t *testing.T) {
		me := h.as(opTok).must(http.StatusOK, "GET", "/api/v1/auth/me", nil)
		h.as(opTok).must(http.StatusForbidden, "PATCH", "/api/v1/users/"+me["id"].(string), map[string]string{"role": "ADMIN"})
		h.as(devTok).must(http.StatusForbidden, "POST", "/api/v1/users",
			map[string]string{"email": "x@acme.test", "password": goodPassword, "name": "x", "role": "ADMIN"})
		if code := errCode(h.as("").must(http.StatusBadRequest, "POST", "/api/v1/auth/login",
			map[string]string{"email": "operator@acme.test", "password": goodPassword, "role": "ADMIN"})); code != "invalid_argument" {
			t.Fatalf("login with an unknown field: %s", code)
		}
	})
	t.Run("the last admin cannot be demoted", func(t *testing.T) {
		admins := 0
		page := admin.must(http.StatusOK, "GET", "/api/v1/users?limit=500", nil)
		for _, u := range page["items"].([]any) {
			if m := u.(map[string]any); m["role"] == "ADMIN" && m["disabled"] == false {
				admins++
			}
		}
		if admins < 1 {
			t.Fatal("no admin listed")
		}
	})
	t.Run("audited actions appear exactly once", func(t *testing.T) {
		checkAuditedActions(t, h, adminTok, opTok)
	})
	t.Run("exekractl verifies and exports the log", func(t *testing.T) {
		checkAuditTools(t, h, adminTok, secrets)
	})
	t.Run("a superuser's tampering is found by verify", func(t *testing.T) {
		checkTamperingFound(t, h, adminTok)
	})
}
