package natsapi

import (
	"context"

	"github.com/exekra/hub/libs/config"
	contract "github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/natsrpc"
)

// ProvidersOf says which sign-in methods the settings turn on.
func ProvidersOf(c config.Identity) contract.Providers {
	p := contract.Providers{Directory: c.LDAP.URL != "", OIDC: c.OIDC.Issuer != ""}
	if p.OIDC {
		p.OIDCName = c.OIDC.Name
	}
	return p
}

// ProvidersEndpoint answers which sign-in methods are on; anyone may ask
// (the sign-in page does before anyone signed in).
func ProvidersEndpoint(p contract.Providers) natsrpc.Endpoint {
	return natsrpc.Handle(contract.SubjectProviders, func(context.Context, contract.ProvidersRequest) (contract.Providers, error) {
		return p, nil
	})
}
