package console

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/gin-gonic/gin"
)

// tokenSamples are the render samples of the API tokens page.
func tokenSamples(at time.Time) map[string]struct {
	data any
	ids  []string
} {
	tok := identity.APIToken{ID: "t1", Name: "CI", Prefix: "exk_pat_abcd", Scopes: []string{identity.ScopeRead}, CreatedAt: at,
		ExpiresAt: time.Now().Add(time.Hour), LastUsedAt: &at, LastUsedIP: "192.0.2.1"}
	created := identity.CreatedToken{Token: "exk_pat_x", Info: tok}
	return map[string]struct {
		data any
		ids  []string
	}{
		"tokens": {tokensData{Rows: []tokenRow{{APIToken: tok, State: "active", ScopesText: "read"}}, Next: "/tokens?cursor=x", First: "/tokens",
			Form: freshTokenForm, Scopes: identity.Scopes, Days: tokenExpiryDays, Created: &created, CreatedText: "read"},
			[]string{"token-created", "token-secret", "tokens-table", "token-t1", "token-revoke-t1", "tokens-next", "tokens-first",
				"tokens-create-form", "tokens-create-name", "tokens-scope-read", "tokens-scope-admin", "tokens-create-days", "tokens-create-submit"}},
	}
}

// TestAuditShowsToken: a record of something done with an API token names the token.
func TestAuditShowsToken(t *testing.T) {
	con := &Console{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := con.parse(); err != nil {
		t.Fatal(err)
	}
	rec := audit.Record{Seq: 1, Event: audit.Event{At: time.Now(), Action: "package.publish", Outcome: audit.Success,
		Actor: audit.Actor{Type: "user", ID: "u1", Email: "ci@example.com", TokenID: "0b6f1c2e-token"}}}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/audit", nil)
	con.show(c, http.StatusOK, "audit", page{Title: "Audit", Data: auditData{Items: []audit.Record{rec}}})
	if body := w.Body.String(); !strings.Contains(body, `title="API token 0b6f1c2e-token">with API token 0b6f1c2e-tok`) {
		t.Fatalf("the token is not shown: %s", body)
	}
}
