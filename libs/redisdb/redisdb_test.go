package redisdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/testkit/redistest"
)

func TestOpenRefusesBadURLs(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"an unreachable server fails within the wait, naming its address", "redis://:hunter2@127.0.0.1:1/0", []string{"127.0.0.1:1", "unreachable"}},
		{"a malformed URL is refused without echoing its password", "redis://:hunter2@127.0.0.1:notaport/0", []string{"redis.url is malformed", "notaport"}},
		{"a URL of another scheme is refused", "http://127.0.0.1:6379/0", []string{"redis.url is malformed", "scheme"}},
		{"an empty URL names the setting", "", []string{"redis.url", "EXEKRA_REDIS_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			client, err := redisdb.Open(context.Background(), tt.url, redisdb.Runners, t.TempDir(), time.Second)
			if err == nil {
				client.Close()
				t.Fatal("Open() succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Open() took %s with a wait of 1s", took)
			}
		})
	}
}

func TestOpenAndPingAPrivateServer(t *testing.T) {
	ctx := context.Background()
	client, err := redisdb.Open(ctx, redistest.New(t), redisdb.Runners, t.TempDir(), 5*time.Second)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Run("ping answers while the client is open", func(t *testing.T) {
		if err := redisdb.Ping(ctx, client); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("ping fails once the client is closed", func(t *testing.T) {
		client.Close()
		if err := redisdb.Ping(ctx, client); err == nil {
			t.Fatal("Ping on a closed client succeeded")
		}
	})
}
