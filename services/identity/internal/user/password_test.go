package user

import (
	"context"
	"strings"
	"testing"
)

// fastParams keep unit tests quick; DefaultParams are measured by the benchmark.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(DefaultParams, 0)
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the hash is a PHC string with the parameters", func(t *testing.T) {
		if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(encoded, "$") != 5 {
			t.Fatalf("hash %q", encoded)
		}
	})
	t.Run("the right password matches and needs no rehash", func(t *testing.T) {
		match, rehash, err := h.Verify(ctx, "correct horse battery staple", encoded)
		if err != nil || !match || rehash {
			t.Fatalf("Verify = %v, %v, %v", match, rehash, err)
		}
	})
	t.Run("a wrong password does not match", func(t *testing.T) {
		match, rehash, err := h.Verify(ctx, "correct horse battery stapler", encoded)
		if err != nil || match || rehash {
			t.Fatalf("Verify = %v, %v, %v", match, rehash, err)
		}
	})
	t.Run("the same password hashes differently each time", func(t *testing.T) {
		again, _ := h.Hash(ctx, "correct horse battery staple")
		if again == encoded {
			t.Fatal("two hashes are equal: no fresh salt")
		}
	})
	t.Run("a hash with weaker parameters matches and asks for a rehash", func(t *testing.T) {
		weak, _ := NewHasher(fastParams, 1).Hash(ctx, "correct horse battery staple")
		match, rehash, err := h.Verify(ctx, "correct horse battery staple", weak)
		if err != nil || !match || !rehash {
			t.Fatalf("Verify = %v, %v, %v", match, rehash, err)
		}
	})
	t.Run("a weaker hash with a wrong password asks for nothing", func(t *testing.T) {
		weak, _ := NewHasher(fastParams, 1).Hash(ctx, "correct horse battery staple")
		match, rehash, _ := h.Verify(ctx, "nope nope nope", weak)
		if match || rehash {
			t.Fatalf("Verify = %v, %v", match, rehash)
		}
	})
}

func TestDecodePHCRefusesMalformedHashes(t *testing.T) {
	good, _ := NewHasher(fastParams, 1).Hash(context.Background(), "whatever you like")
	parts := strings.Split(good, "$")
	tests := []struct{ name, hash string }{
		{"an empty string", ""},
		{"another algorithm", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"another version", strings.Replace(good, "v=19", "v=16", 1)},
		{"trailing junk after the parameters", strings.Replace(good, parts[3], parts[3]+"x", 1)},
		{"absurd memory", strings.Replace(good, parts[3], "m=99999999,t=1,p=1", 1)},
		{"a salt that is not base64", strings.Replace(good, parts[4], "!!!", 1)},
		{"a bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if _, _, _, err := decodePHC(tt.hash); err == nil {
				t.Fatalf("decodePHC(%q) = nil error", tt.hash)
			}
		})
	}
}

// BenchmarkHashDefault measures one argon2id hash with the production
// parameters: the cost a sign-in pays.
func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
