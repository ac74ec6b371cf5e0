// Package natsapi serves the identity service's NATS contract: it turns
// contract messages into calls of the user domain and its results back.
package natsapi

import (
	"context"
	"encoding/json"
	"log/slog"

	contract "github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/identity/internal/apitoken"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/nats-io/nats.go"
)

// Endpoints lists the service's operations.
func Endpoints(svc *user.Service, tokens *apitoken.Service) []natsrpc.Endpoint {
	eps := append(setupAndSessionEndpoints(svc, tokens), userEndpoints(svc)...)
	return append(eps, tokenEndpoints(tokens)...)
}

// setupAndSessionEndpoints are the operations that need no signed-in user.
func setupAndSessionEndpoints(svc *user.Service, tokens *apitoken.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectSetupState, func(ctx context.Context, _ contract.SetupStateRequest) (contract.SetupState, error) {
			done, err := svc.Bootstrapped(ctx)
			return contract.SetupState{Bootstrapped: done}, err
		}),
		natsrpc.Handle(contract.SubjectBootstrap, func(ctx context.Context, req contract.BootstrapRequest) (contract.User, error) {
			u, err := svc.Bootstrap(ctx, user.NewUser{Email: req.Email, Password: req.Password, Name: req.Name})
			return toUser(u), err
		}),
		natsrpc.Handle(contract.SubjectLogin, func(ctx context.Context, req contract.LoginRequest) (contract.Session, error) {
			if err := req.Check(); err != nil {
				return contract.Session{}, err // no password is this long: nothing to hash or count
			}
			in, err := svc.Login(ctx, req.Email, req.Password)
			if err != nil {
				return contract.Session{}, err
			}
			return contract.Session{Token: in.Token, ExpiresAt: in.ExpiresAt, User: toUser(in.User)}, nil
		}),
		natsrpc.Handle(contract.SubjectLogout, func(ctx context.Context, req contract.LogoutRequest) (contract.LogoutResponse, error) {
			return contract.LogoutResponse{}, svc.Logout(ctx, req.Token)
		}),
		natsrpc.Handle(contract.SubjectAuthenticate, func(ctx context.Context, req contract.AuthenticateRequest) (contract.Principal, error) {
			return authenticate(ctx, svc, tokens, req.Token)
		}),
	}
}

// userEndpoints are the users.* operations (ADMIN only, checked by the domain).
func userEndpoints(svc *user.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectUsersList, func(ctx context.Context, req contract.ListUsersRequest) (contract.ListUsersResponse, error) {
			page, err := svc.ListUsers(ctx, req.Limit, req.Cursor)
			if err != nil {
				return contract.ListUsersResponse{}, err
			}
			items := make([]contract.User, 0, len(page.Users))
			for _, u := range page.Users {
				items = append(items, toUser(u))
			}
			return contract.ListUsersResponse{Items: items, NextCursor: page.NextCursor}, nil
		}),
		natsrpc.Handle(contract.SubjectUsersGet, func(ctx context.Context, req contract.GetUserRequest) (contract.User, error) {
			u, err := svc.GetUser(ctx, req.ID)
			return toUser(u), err
		}),
		natsrpc.Handle(contract.SubjectUsersCreate, func(ctx context.Context, req contract.CreateUserRequest) (contract.User, error) {
			return createUser(ctx, svc, req)
		}),
		natsrpc.Handle(contract.SubjectUsersUpdate, func(ctx context.Context, req contract.UpdateUserRequest) (contract.User, error) {
			u, err := svc.UpdateUser(ctx, req.ID, user.Update{Name: req.Name, Role: req.Role, Disabled: req.Disabled, Password: req.Password})
			return toUser(u), err
		}),
		natsrpc.Handle(contract.SubjectUsersDelete, func(ctx context.Context, req contract.DeleteUserRequest) (contract.DeleteUserResponse, error) {
			return contract.DeleteUserResponse{}, svc.DeleteUser(ctx, req.ID)
		}),
	}
}

// toUser shows a user as the contract does: never its password hash.
func toUser(u user.User) contract.User {
	return contract.User{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled,
		Source: u.Source, CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt}
}

// License asks the licensing service over NATS.
type License struct{ Client *natsrpc.Client }

var _ user.License = License{}

// AdminEmail returns the active license's admin email; license_required and
// unavailable errors pass through as they come.
func (l License) AdminEmail(ctx context.Context) (string, error) {
	resp, err := natsrpc.Call[licensing.AdminEmail](ctx, l.Client, licensing.SubjectAdminEmail, licensing.AdminEmailRequest{})
	return resp.Email, err
}

// Announcer publishes session changes on NATS for the gateways.
type Announcer struct {
	NC  *nats.Conn
	Log *slog.Logger
}

var _ user.Announcer = Announcer{}

// SessionsChanged publishes the event. A lost event costs little: gateways
// remember a session for seconds only and forget all of them when their
// NATS connection was interrupted.
func (a Announcer) SessionsChanged(ctx context.Context, userID string) {
	data, _ := json.Marshal(contract.SessionsChanged{UserID: userID})
	if err := a.NC.Publish(contract.SubjectSessionsChanged, data); err != nil {
		a.Log.WarnContext(ctx, "announce changed sessions", "user_id", userID, "err", err)
	}
}
