// Package natsapi serves the identity service's NATS contract.
package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/natsrpc"
)

// Store is what the endpoints read.
type Store interface {
	Bootstrapped(ctx context.Context) (bool, error)
}

// Endpoints lists the service's operations.
func Endpoints(store Store) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectSetupState, func(ctx context.Context, _ contract.SetupStateRequest) (contract.SetupState, error) {
			done, err := store.Bootstrapped(ctx)
			return contract.SetupState{Bootstrapped: done}, err
		}),
	}
}
