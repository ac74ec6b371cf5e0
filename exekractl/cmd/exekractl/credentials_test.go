package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/redisdb"
)

// TestCredentialsWritesWhatServersNeed: keys and passwords are made once and
// kept, the ACL file turns the default user off, and nats-server accepts the
// authorization block it is given.
func TestCredentialsWritesWhatServersNeed(t *testing.T) {
	out := t.TempDir()
	dir := filepath.Join(out, "credentials")
	acl, auth := filepath.Join(out, "users.acl"), filepath.Join(out, "authorization.conf")
	args := []string{"credentials", "--dir", dir, "--redis-acl", acl, "--nats-authorization", auth}
	var stdout bytes.Buffer
	if err := run(context.Background(), args, &stdout); err != nil {
		t.Fatalf("credentials: %v", err)
	}
	if !strings.Contains(stdout.String(), "6 NATS keys, 5 Redis passwords") {
		t.Errorf("output %q does not say what it made", stdout.String())
	}
	first := map[string][]byte{}
	for _, p := range busauth.Principals {
		first[busauth.SeedFile(dir, p)] = nil
	}
	for _, u := range redisdb.Users {
		first[redisdb.PasswordFile(dir, u)] = nil
	}
	for _, f := range append([]string{acl, auth}, slices.Collect(maps.Keys(first))...) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
		if _, secret := first[f]; secret {
			first[f], _ = os.ReadFile(f)
		}
	}
	aclText, _ := os.ReadFile(acl)
	if !strings.HasPrefix(string(aclText), "user default off ") {
		t.Errorf("the ACL file leaves the default user on:\n%s", aclText)
	}

	if err := run(context.Background(), args, &stdout); err != nil {
		t.Fatalf("credentials again: %v", err)
	}
	for f, was := range first {
		if now, _ := os.ReadFile(f); !bytes.Equal(now, was) {
			t.Errorf("running it again changed %s", filepath.Base(f))
		}
	}

	server, err := exec.LookPath("nats-server")
	if err != nil {
		server = "/usr/sbin/nats-server"
	}
	conf := filepath.Join(out, "nats.conf")
	os.WriteFile(conf, []byte("listen: 127.0.0.1:-1\ninclude \"authorization.conf\"\n"), 0o600)
	if msg, err := exec.Command(server, "-t", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nats-server -t refuses the authorization block: %v\n%s", err, msg)
	}
}
