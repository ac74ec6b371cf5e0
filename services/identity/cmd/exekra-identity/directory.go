package main

import (
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/services/identity/internal/directory"
	"github.com/exekra/hub/services/identity/internal/user"
)

// directoryOf is the directory identity.ldap.* configures; nil when
// identity.ldap.url is empty (directory sign-in off).
func directoryOf(d *daemon.Deps) (user.Directory, error) {
	c := d.Config.Identity.LDAP
	if c.URL == "" {
		return nil, nil
	}
	dir, err := directory.New(c, d.Config.Path(c.CAFile), d.Log.With("directory", c.URL))
	if err != nil {
		return nil, err
	}
	return dir, nil
}
