package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestDeriveStatus(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	seen := func(ago time.Duration, jobs ...string) *Presence {
		return &Presence{LastSeen: now.Add(-ago), RunningJobIDs: jobs}
	}
	tests := []struct {
		name string
		p    *Presence
		want string
	}{
		{"no heartbeat ever is never_connected", nil, runners.StatusNeverConnected},
		{"a heartbeat just now is online", seen(0), runners.StatusOnline},
		{"exactly 3 intervals ago is online", seen(45 * time.Second), runners.StatusOnline},
		{"just over 3 intervals ago is offline", seen(45*time.Second + time.Millisecond), runners.StatusOffline},
		{"online with a running job is busy", seen(10*time.Second, "j"), runners.StatusBusy},
		{"offline with a running job is offline", seen(time.Hour, "j"), runners.StatusOffline},
		{"a heartbeat stamped ahead of this clock is online", seen(-5 * time.Second), runners.StatusOnline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeriveStatus(now, 15*time.Second, tt.p); got != tt.want {
				t.Fatalf("status %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLatest(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	live, seen := &Presence{LastSeen: t0, Hostname: "live"}, &Presence{LastSeen: t0.Add(-time.Second), Hostname: "seen"}
	if latest(live, seen) != live || latest(nil, seen) != seen || latest(live, nil) != live || latest(nil, nil) != nil {
		t.Fatal("the newer presence should win")
	}
	if older := (&Presence{LastSeen: t0.Add(-time.Minute)}); latest(older, seen) != seen {
		t.Fatal("an older live presence should lose to a newer flushed one")
	}
}

func TestNewSecret(t *testing.T) {
	secret, hash := newSecret()
	if !regexp.MustCompile(`^exk_ms_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("secret %q", secret)
	}
	if sum := sha256.Sum256([]byte(secret)); string(sum[:]) != string(hash) {
		t.Fatal("hash is not the SHA-256 of the secret")
	}
	if runners.SecretSHA256(secret) != hex.EncodeToString(hash) {
		t.Fatal("the contract's SecretSHA256 disagrees")
	}
}

func TestValidateNew(t *testing.T) {
	t.Run("labels keep their order without duplicates", func(t *testing.T) {
		in, err := validateNew(NewRunner{Name: " a ", Environment: runners.EnvStaging, Labels: []string{"b", "a", "b"}})
		if err != nil || in.Name != "a" || len(in.Labels) != 2 || in.Labels[0] != "b" {
			t.Fatalf("%+v, %v", in, err)
		}
	})
	t.Run("no labels is an empty list", func(t *testing.T) {
		in, err := validateNew(NewRunner{Name: "a", Environment: runners.EnvStaging})
		if err != nil || in.Labels == nil {
			t.Fatalf("%+v, %v", in, err)
		}
	})
	t.Run("a unicode label is refused", func(t *testing.T) {
		_, err := validateNew(NewRunner{Name: "a", Environment: runners.EnvStaging, Labels: []string{"été"}})
		if !errs.Is(err, errs.InvalidArgument) {
			t.Fatal(err)
		}
	})
}

func TestCursor(t *testing.T) {
	c := Cursor{Name: "naïve \"runner\"", ID: "8f0e1c4a-8b7b-4b65-9d64-0c5b7c2d9a10"}
	got, err := DecodeCursor(EncodeCursor(c))
	if err != nil || *got != c {
		t.Fatalf("%+v, %v", got, err)
	}
	for _, bad := range []string{"%%", "e30", EncodeCursor(Cursor{Name: "x", ID: "nope"})} {
		if _, err := DecodeCursor(bad); !errs.Is(err, errs.InvalidArgument) {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
}
