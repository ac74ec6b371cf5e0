// Package natsserver turns the bus permissions of libs/busauth into an
// embedded nats-server's users. It is apart from busauth so that the
// services, which only connect, do not link the server.
package natsserver

import (
	"github.com/exekra/hub/libs/busauth"
	"github.com/nats-io/nats-server/v2/server"
)

// Users returns an NKey user with its permissions for each principal in keys
// (public keys by principal).
func Users(keys map[busauth.Principal]string) []*server.NkeyUser {
	var users []*server.NkeyUser
	for _, p := range busauth.Principals {
		pub, ok := keys[p]
		if !ok {
			continue
		}
		perms := p.Permissions()
		sp := &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: perms.PublishAllow, Deny: perms.PublishDeny},
			Subscribe: &server.SubjectPermission{Allow: perms.SubscribeAllow},
		}
		if perms.Responds {
			sp.Response = &server.ResponsePermission{MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS, Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION}
		}
		users = append(users, &server.NkeyUser{Nkey: pub, Permissions: sp})
	}
	return users
}
