package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// checkTokensOnEveryGateway: an API token revoked through one gateway is
// refused by the other on the very next call, and an expired one by both.
func checkTokensOnEveryGateway(t *testing.T, e *enterprise, s *session) {
	t.Helper()
	gateways := e.hubs["gateway"]
	if len(gateways) < 2 {
		t.Fatalf("%d gateways, want 2", len(gateways))
	}
	id, tok := mintToken(t, s.h, s.devTok, "enterprise CI", "read")
	for _, gw := range gateways {
		direct(t, gw).as(tok).must(http.StatusOK, "GET", "/api/v1/auth/me", nil) // each gateway remembers it now
	}
	direct(t, gateways[0]).as(s.devTok).must(http.StatusOK, "DELETE", "/api/v1/tokens/"+id, nil)
	for _, gw := range gateways {
		direct(t, gw).as(tok).must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", nil)
	}

	expiredID, expired := mintToken(t, s.h, s.devTok, "enterprise expired", "read")
	ctx := ctxT(t, 10*time.Second)
	conn, err := pgx.Connect(ctx, e.pg.url("exekra_identity", e.dbPass["identity"], "exekra_identity"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "UPDATE identity.api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", expiredID); err != nil {
		t.Fatal(err)
	}
	for _, gw := range gateways {
		direct(t, gw).as(expired).must(http.StatusUnauthorized, "GET", "/api/v1/auth/me", nil)
	}
}
