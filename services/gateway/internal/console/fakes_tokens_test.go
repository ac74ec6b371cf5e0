package console_test

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
)

// tokensEndpoints stand in for identity's tokens.*: each user sees and
// revokes only their own tokens.
func (f *fakeHub) tokensEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(identity.SubjectTokensCreate, func(ctx context.Context, r identity.CreateTokenRequest) (identity.CreatedToken, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			a := caller.ActorFromContext(ctx)
			if r.Name == "" || len(r.Scopes) == 0 {
				return identity.CreatedToken{}, errs.E(errs.InvalidArgument, "name and scopes are required")
			}
			id := "t-" + strconv.Itoa(len(f.apiTokens)+1)
			t := identity.APIToken{ID: id, Name: r.Name, UserID: a.ID, UserEmail: a.Email, Prefix: "exk_pat_" + id,
				Scopes: r.Scopes, CreatedAt: time.Now(), ExpiresAt: r.ExpiresAt}
			f.apiTokens = append(f.apiTokens, t)
			return identity.CreatedToken{Token: "exk_pat_" + id + "SECRETPART", Info: t}, nil
		}),
		natsrpc.Handle(identity.SubjectTokensList, func(ctx context.Context, _ identity.ListTokensRequest) (identity.ListTokensResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			out := identity.ListTokensResponse{Items: []identity.APIToken{}}
			for _, t := range f.apiTokens {
				if t.UserID == caller.ActorFromContext(ctx).ID {
					out.Items = append(out.Items, t)
				}
			}
			return out, nil
		}),
		natsrpc.Handle(identity.SubjectTokensRevoke, func(ctx context.Context, r identity.RevokeTokenRequest) (identity.APIToken, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			i := slices.IndexFunc(f.apiTokens, func(t identity.APIToken) bool { return t.ID == r.ID })
			if i < 0 || f.apiTokens[i].UserID != caller.ActorFromContext(ctx).ID {
				return identity.APIToken{}, errs.E(errs.NotFound, "no API token has this id")
			}
			now := time.Now()
			f.apiTokens[i].RevokedAt = &now
			return f.apiTokens[i], nil
		}),
	}
}
