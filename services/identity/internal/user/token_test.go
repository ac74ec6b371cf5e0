package user

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

func TestToken(t *testing.T) {
	token, hash := newToken()
	t.Run("a token has the prefix and 256 random bits", func(t *testing.T) {
		if !strings.HasPrefix(token, "exk_st_") || len(token) != len("exk_st_")+43 {
			t.Fatalf("token %q", token)
		}
	})
	t.Run("the hash of a token is what was stored", func(t *testing.T) {
		got, ok := tokenHash(token)
		if !ok || string(got) != string(hash) || len(hash) != 32 {
			t.Fatalf("tokenHash = %x, %v", got, ok)
		}
	})
	t.Run("two tokens differ", func(t *testing.T) {
		if other, _ := newToken(); other == token {
			t.Fatal("same token twice")
		}
	})
	for _, bad := range []string{"", "exk_st_", token[:len(token)-1], "exk_ms_" + token[7:], token[:20] + "!" + token[21:]} {
		t.Run("a malformed token has no hash: "+bad, func(t *testing.T) {
			if _, ok := tokenHash(bad); ok {
				t.Fatalf("tokenHash(%q) ok", bad)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	t.Run("a cursor reads back as written", func(t *testing.T) {
		c := Cursor{CreatedAt: time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC), ID: uuid.NewString()}
		got, err := DecodeCursor(EncodeCursor(c))
		if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
			t.Fatalf("DecodeCursor = %+v, %v; want %+v", got, err, c)
		}
	})
	t.Run("no cursor is the first page", func(t *testing.T) {
		if got, err := DecodeCursor(""); got != nil || err != nil {
			t.Fatalf("DecodeCursor(\"\") = %+v, %v", got, err)
		}
	})
	for _, bad := range []string{"%%%", "bm90LWEtY3Vyc29y", EncodeCursor(Cursor{ID: "not-a-uuid"})} {
		t.Run("a cursor not made here is refused: "+bad, func(t *testing.T) {
			if _, err := DecodeCursor(bad); !errs.Is(err, errs.InvalidArgument) {
				t.Fatalf("DecodeCursor(%q) = %v, want invalid_argument", bad, err)
			}
		})
	}
}

func TestSessionExpiresAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		lastSeen time.Time
		want     time.Time
	}{
		{"a fresh session ends after the idle timeout", start, start.Add(IdleTimeout)},
		{"a session used lately ends idle after its last use", start.Add(time.Hour), start.Add(time.Hour + IdleTimeout)},
		{"a session used near its end ends at the absolute timeout", start.Add(AbsoluteTimeout - time.Minute), start.Add(AbsoluteTimeout)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Session{CreatedAt: start, LastSeenAt: tt.lastSeen}.ExpiresAt()
			if !got.Equal(tt.want) {
				t.Fatalf("ExpiresAt = %s, want %s", got, tt.want)
			}
		})
	}
}
