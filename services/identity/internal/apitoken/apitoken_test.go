package apitoken

import (
	"bytes"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/identity"
)

func TestSecrets(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash := newSecret(identity.TokenPrefixService)
		if !strings.HasPrefix(tok, identity.TokenPrefixService) || len(tok) != len(identity.TokenPrefixService)+secretLen || seen[tok] {
			t.Fatalf("token %q", tok)
		}
		seen[tok] = true
		got, ok := hashOfPresented(tok)
		if !ok || !bytes.Equal(got, hash) || len(hash) != 32 {
			t.Fatalf("hash of %q: %x, %v", tok, got, ok)
		}
		if !identity.IsAPIToken(tok) {
			t.Fatalf("%q is not taken for a token", tok)
		}
	}
	tok, _ := newSecret(identity.TokenPrefixPersonal)
	for _, bad := range []string{"", "exk_st_" + tok[8:], "exk_pat_short", tok + "x", tok[:len(tok)-1] + "-", "exk_xyz_" + tok[8:]} {
		if _, ok := hashOfPresented(bad); ok {
			t.Errorf("%q taken for a token", bad)
		}
	}
	if identity.IsAPIToken("exk_st_abc") {
		t.Error("a session token is taken for an API token")
	}
}
