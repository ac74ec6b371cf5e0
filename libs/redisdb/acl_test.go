package redisdb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/testkit/redistest"
)

// aclServer writes the Hub's ACL into a fresh credentials directory and
// starts a redis-server with it.
func aclServer(t *testing.T) (url, creds string) {
	t.Helper()
	creds = filepath.Join(t.TempDir(), "credentials")
	acl := filepath.Join(t.TempDir(), "users.acl")
	if err := redisdb.EnsureACL(creds, acl); err != nil {
		t.Fatalf("EnsureACL: %v", err)
	}
	return redistest.NewWith(t, "--aclfile", acl), creds
}

func open(t *testing.T, url string, u redisdb.User, creds string) *redis.Client {
	t.Helper()
	c, err := redisdb.Open(context.Background(), url, u, creds, 5*time.Second)
	if err != nil {
		t.Fatalf("Open as %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEnsureACLKeepsPasswordsPrivate(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	acl := filepath.Join(t.TempDir(), "users.acl")
	if err := redisdb.EnsureACL(creds, acl); err != nil {
		t.Fatalf("EnsureACL: %v", err)
	}
	first := map[redisdb.User]string{}
	for _, u := range redisdb.Users {
		fi, err := os.Stat(redisdb.PasswordFile(creds, u))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s password file mode %v, want 0600", u, fi.Mode().Perm())
		}
		if first[u], err = redisdb.Password(creds, u); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(acl)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(acl); fi.Mode().Perm() != 0o600 {
		t.Errorf("ACL file mode %v, want 0600", fi.Mode().Perm())
	}
	for u, pw := range first {
		if strings.Contains(string(text), pw) {
			t.Errorf("the ACL file holds %s's password itself, not its hash", u)
		}
	}
	if fi, _ := os.Stat(creds); fi.Mode().Perm() != 0o700 {
		t.Errorf("credentials dir mode %v, want 0700", fi.Mode().Perm())
	}
	if err := redisdb.EnsureACL(creds, acl); err != nil {
		t.Fatalf("EnsureACL again: %v", err)
	}
	for _, u := range redisdb.Users {
		if pw, _ := redisdb.Password(creds, u); pw != first[u] {
			t.Errorf("a second EnsureACL changed %s's password", u)
		}
	}
	again, _ := os.ReadFile(acl)
	if string(again) != string(text) {
		t.Errorf("a second EnsureACL wrote another ACL:\n%s\nthen\n%s", text, again)
	}
}

func TestRedisUsersGetTheLeastTheyNeed(t *testing.T) {
	ctx := context.Background()
	url, creds := aclServer(t)

	t.Run("a client without a password is refused", func(t *testing.T) {
		opts, _ := redis.ParseURL(url)
		c := redis.NewClient(opts)
		defer c.Close()
		for _, cmd := range [][]any{{"ping"}, {"set", "exekra:runners:cred:r1", "x"}, {"get", "exekra:runners:cred:r1"}} {
			if err := c.Do(ctx, cmd...).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
				t.Errorf("%v without a password: %v, want NOAUTH", cmd, err)
			}
		}
	})
	t.Run("another user's password is refused", func(t *testing.T) {
		pw, _ := redisdb.Password(creds, redisdb.Runners)
		c := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0"),
			Username: string(redisdb.Identity), Password: pw, Protocol: 2, MaxRetries: -1})
		defer c.Close()
		if err := c.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("identity with the runners' password: %v, want WRONGPASS", err)
		}
	})

	runners := open(t, url, redisdb.Runners, creds)
	identity := open(t, url, redisdb.Identity, creds)
	gateway := open(t, url, redisdb.Gateway, creds)
	admin := open(t, url, redisdb.Admin, creds)

	allowed := []struct {
		who  *redis.Client
		name string
		cmd  []any
	}{
		{runners, "runners writes a credential hash", []any{"set", "exekra:runners:cred:r1", "hash"}},
		{runners, "runners queues a job", []any{"xadd", "exekra:{jobs}:queue:prod", "*", "job", "j1"}},
		{runners, "runners runs a script on its keys", []any{"eval", "return redis.call('get', KEYS[1])", 1, "exekra:runners:cred:r1"}},
		{identity, "identity counts a sign-in", []any{"incr", "exekra:identity:login:address:10.0.0.1"}},
		{gateway, "the gateway pings", []any{"ping"}},
	}
	for _, a := range allowed {
		t.Run(a.name, func(t *testing.T) {
			if err := a.who.Do(ctx, a.cmd...).Err(); err != nil && err != redis.Nil {
				t.Errorf("%v: %v", a.cmd, err)
			}
		})
	}
	refused := []struct {
		who  *redis.Client
		name string
		cmd  []any
	}{
		{identity, "identity writes a runner's credential hash", []any{"set", "exekra:runners:cred:r1", "forged"}},
		{identity, "identity reads the job queue", []any{"xrange", "exekra:{jobs}:queue:prod", "-", "+"}},
		{identity, "identity runs a script on a runner's key", []any{"eval", "return redis.call('set', KEYS[1], 'x')", 1, "exekra:runners:cred:r1"}},
		{runners, "runners resets a sign-in throttle", []any{"del", "exekra:identity:login:address:10.0.0.1"}},
		{runners, "runners writes a key of nobody's", []any{"set", "other", "x"}},
		{gateway, "the gateway writes a runner's credential hash", []any{"set", "exekra:runners:cred:r1", "forged"}},
		{gateway, "the gateway reads a key", []any{"get", "exekra:runners:cred:r1"}},
		{runners, "runners flushes everything", []any{"flushall"}},
		{identity, "identity flushes its database", []any{"flushdb"}},
		{runners, "runners lists every key", []any{"keys", "*"}},
		{runners, "runners reconfigures the server", []any{"config", "set", "appendonly", "yes"}},
		{identity, "identity changes the ACL", []any{"acl", "setuser", "default", "on", "nopass"}},
		{runners, "runners publishes", []any{"publish", "exekra", "x"}},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			err := r.who.Do(ctx, r.cmd...).Err()
			if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
				t.Errorf("%v: %v, want NOPERM", r.cmd, err)
			}
		})
	}
	if got, err := admin.Get(ctx, "exekra:runners:cred:r1").Result(); err != nil || got != "hash" {
		t.Fatalf("admin reads the credential hash: %q, %v (the refused writes must not have landed)", got, err)
	}
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Errorf("the admin flushes: %v", err)
	}
}

func TestAPasswordInTheURLWins(t *testing.T) {
	url, creds := aclServer(t)
	pw, _ := redisdb.Password(creds, redisdb.Admin)
	withUser := strings.Replace(url, "redis://", "redis://admin:"+pw+"@", 1)
	c := open(t, withUser, redisdb.Gateway, creds)
	if err := c.Set(context.Background(), "anything", "x", 0).Err(); err != nil {
		t.Errorf("the URL's user (admin) should be used, not the gateway's file: %v", err)
	}
	wrong := strings.Replace(url, "redis://", "redis://admin:nottheone@", 1)
	if c, err := redisdb.Open(context.Background(), wrong, redisdb.Admin, creds, time.Second); err == nil {
		c.Close()
		t.Error("Open with a wrong password in the URL succeeded")
	} else if strings.Contains(err.Error(), "nottheone") {
		t.Errorf("error %q shows the password", err)
	}
}
