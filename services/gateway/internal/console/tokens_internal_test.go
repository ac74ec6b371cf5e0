package console

import (
	"time"

	"github.com/exekra/hub/libs/contract/identity"
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
