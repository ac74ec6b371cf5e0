package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/redisdb"
)

const credentialsUsage = "usage: exekractl credentials [--home DIR] [--dir DIR] [--redis-acl FILE] [--nats-authorization FILE]"

// runCredentials makes what is missing of the Hub's internal credentials
// (a NATS key per kind of process, a Redis password per user) and writes the
// server side of them: the Redis ACL file and the NATS authorization block,
// for servers the pilot does not start itself. Existing keys and passwords
// are kept, so running it again only rewrites the two server files.
func runCredentials(args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekractl credentials", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	home := fs.String("home", config.DefaultHome(), "install dir whose hub.credentials_dir holds the credentials")
	dir := fs.String("dir", "", "credentials directory (default: hub.credentials_dir of --home)")
	redisACL := fs.String("redis-acl", "", "write the Redis ACL file (redis-server --aclfile) here")
	natsAuth := fs.String("nats-authorization", "", "write the NATS authorization block (include it in nats-server.conf) here")
	if help, err := parseFlags(fs, args, credentialsUsage, stdout); help || err != nil {
		return err
	}
	if *dir == "" {
		cfg, err := config.Load(*home, environ)
		if err != nil {
			return err
		}
		*dir = cfg.Path(cfg.Hub.CredentialsDir)
	}
	keys, err := busauth.EnsureKeys(*dir)
	if err != nil {
		return err
	}
	if err := redisdb.EnsureACL(*dir, *redisACL); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "credentials in %s: %d NATS keys, %d Redis passwords (0600)\n", *dir, len(keys), len(redisdb.Users))
	if *redisACL != "" {
		fmt.Fprintf(stdout, "Redis ACL file: %s\n", *redisACL)
	}
	if *natsAuth != "" {
		if err := writePrivate(*natsAuth, func(w io.Writer) error { return busauth.Render(w, keys) }); err != nil {
			return fmt.Errorf("NATS authorization block: %w", err)
		}
		fmt.Fprintf(stdout, "NATS authorization block: %s\n", *natsAuth)
	}
	return nil
}

// writePrivate writes file (0600) through a temporary file beside it.
func writePrivate(file string, write func(io.Writer) error) error {
	tmp := file + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	werr := write(f)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, file)
}
