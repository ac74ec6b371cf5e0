package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/identity/internal/apitoken"
	"github.com/exekra/hub/services/identity/internal/user"
)

// tokenEndpoints are the tokens.* operations (the domain checks who asks).
func tokenEndpoints(tokens *apitoken.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectTokensCreate, func(ctx context.Context, req contract.CreateTokenRequest) (contract.CreatedToken, error) {
			c, err := tokens.Create(ctx, apitoken.NewToken{Name: req.Name, Scopes: req.Scopes, ExpiresAt: req.ExpiresAt, UserID: req.UserID})
			if err != nil {
				return contract.CreatedToken{}, err
			}
			return contract.CreatedToken{Token: c.Secret, Info: toAPIToken(c.Token)}, nil
		}),
		natsrpc.Handle(contract.SubjectTokensList, func(ctx context.Context, req contract.ListTokensRequest) (contract.ListTokensResponse, error) {
			page, err := tokens.List(ctx, req.UserID, req.All, req.Limit, req.Cursor)
			if err != nil {
				return contract.ListTokensResponse{}, err
			}
			items := make([]contract.APIToken, 0, len(page.Tokens))
			for _, t := range page.Tokens {
				items = append(items, toAPIToken(t))
			}
			return contract.ListTokensResponse{Items: items, NextCursor: page.NextCursor}, nil
		}),
		natsrpc.Handle(contract.SubjectTokensRevoke, func(ctx context.Context, req contract.RevokeTokenRequest) (contract.APIToken, error) {
			t, err := tokens.Revoke(ctx, req.ID)
			return toAPIToken(t), err
		}),
	}
}

// authenticate resolves a session token, or an API token (exk_pat_, exk_sat_).
func authenticate(ctx context.Context, svc *user.Service, tokens *apitoken.Service, tok string) (contract.Principal, error) {
	if contract.IsAPIToken(tok) {
		p, err := tokens.Authenticate(ctx, tok)
		if err != nil {
			return contract.Principal{}, err
		}
		return contract.Principal{User: toUser(p.User), TokenID: p.Token.ID, Scopes: p.Token.Scopes, ExpiresAt: p.Token.ExpiresAt}, nil
	}
	p, err := svc.Authenticate(ctx, tok)
	if err != nil {
		return contract.Principal{}, err
	}
	return contract.Principal{User: toUser(p.User), SessionID: p.SessionID, ExpiresAt: p.ExpiresAt}, nil
}

// createUser creates a person or, with ServiceAccount, a service account.
func createUser(ctx context.Context, svc *user.Service, req contract.CreateUserRequest) (contract.User, error) {
	in := user.NewUser{Email: req.Email, Password: req.Password, Name: req.Name, Role: req.Role}
	create := svc.CreateUser
	if req.ServiceAccount {
		create = svc.CreateServiceAccount
	}
	u, err := create(ctx, in)
	return toUser(u), err
}

// toAPIToken shows a token as the contract does: never its secret or hash.
func toAPIToken(t apitoken.Token) contract.APIToken {
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return contract.APIToken{ID: t.ID, Name: t.Name, UserID: t.UserID, UserEmail: t.UserEmail, Prefix: t.Prefix, Scopes: scopes,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, LastUsedIP: t.LastUsedIP, RevokedAt: t.RevokedAt}
}
