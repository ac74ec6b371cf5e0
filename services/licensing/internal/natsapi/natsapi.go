// Package natsapi serves the licensing service's NATS contract.
package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/natsrpc"
)

// Store is what the endpoints read.
type Store interface {
	Licensed(ctx context.Context) (bool, error)
}

// Endpoints lists the service's operations.
func Endpoints(store Store) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectSetupState, func(ctx context.Context, _ contract.SetupStateRequest) (contract.SetupState, error) {
			ok, err := store.Licensed(ctx)
			return contract.SetupState{Licensed: ok}, err
		}),
	}
}
