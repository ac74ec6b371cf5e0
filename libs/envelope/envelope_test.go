package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func mustRing(t *testing.T) *Keyring {
	t.Helper()
	k, err := NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKeyringID(t *testing.T) {
	k := mustRing(t)
	if !regexp.MustCompile(`^k-\d{14}-[0-9a-f]{4}$`).MatchString(k.PrimaryID()) {
		t.Fatalf("primary id %q", k.PrimaryID())
	}
	if ids := k.IDs(); len(ids) != 1 || ids[0] != k.PrimaryID() || !k.Has(ids[0]) {
		t.Fatalf("ids %v", ids)
	}
}

func TestRoundTrip(t *testing.T) {
	k := mustRing(t)
	aad := AAD("a1", "global", "", 1)
	for _, pt := range [][]byte{[]byte(`"hello"`), {}, bytes.Repeat([]byte("x"), 16384)} {
		s, err := k.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if s.KeyID != k.PrimaryID() {
			t.Fatalf("sealed under %s, primary %s", s.KeyID, k.PrimaryID())
		}
		if len(pt) > 4 && bytes.Contains(s.Ciphertext, pt) {
			t.Fatal("ciphertext holds the plaintext")
		}
		got, err := k.Open(s, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("got %q", got)
		}
	}
	a, _ := k.Seal([]byte("same"), aad)
	b, _ := k.Seal([]byte("same"), aad)
	if bytes.Equal(a.Ciphertext, b.Ciphertext) || bytes.Equal(a.WrappedKey, b.WrappedKey) {
		t.Fatal("two seals of the same value are alike")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestOpenFails(t *testing.T) {
	k := mustRing(t)
	aad := AAD("a1", "environment", "production", 3)
	s, err := k.Seal([]byte(`{"username":"u","password":"p"}`), aad)
	if err != nil {
		t.Fatal(err)
	}
	other := AAD("a2", "global", "", 1)
	t2, err := k.Seal([]byte("other row"), other)
	if err != nil {
		t.Fatal(err)
	}

	sameID := &Keyring{keys: map[string]*kek{}}
	if _, err := sameID.Rotate(); err != nil {
		t.Fatal(err)
	}
	// Another ring with the same key id but other key bytes.
	e := sameID.keys[sameID.primary]
	delete(sameID.keys, sameID.primary)
	e2, err := newKEK(k.PrimaryID(), e.key, e.createdAt)
	if err != nil {
		t.Fatal(err)
	}
	sameID.keys[e2.id] = e2
	sameID.primary = e2.id

	cases := []struct {
		name string
		ring *Keyring
		s    Sealed
		aad  []byte
	}{
		{"tampered ciphertext", k, Sealed{s.KeyID, s.WrappedKey, flip(s.Ciphertext, len(s.Ciphertext)-1)}, aad},
		{"tampered nonce", k, Sealed{s.KeyID, s.WrappedKey, flip(s.Ciphertext, 0)}, aad},
		{"tampered wrapped key", k, Sealed{s.KeyID, flip(s.WrappedKey, 20), s.Ciphertext}, aad},
		{"truncated", k, Sealed{s.KeyID, s.WrappedKey, s.Ciphertext[:10]}, aad},
		{"wrong version", k, s, AAD("a1", "environment", "production", 4)},
		{"wrong scope key", k, s, AAD("a1", "environment", "staging", 3)},
		{"wrong asset", k, s, AAD("a2", "environment", "production", 3)},
		{"wrapped key from another row", k, Sealed{s.KeyID, t2.WrappedKey, s.Ciphertext}, aad},
		{"wrapped key moved with its row's aad", k, Sealed{s.KeyID, t2.WrappedKey, s.Ciphertext}, other},
		{"other key bytes, same id", sameID, s, aad},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.ring.Open(c.s, c.aad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
	// Field boundaries matter: ("ab","c") and ("a","bc") differ.
	if bytes.Equal(AAD("ab", "c", "", 1), AAD("a", "bc", "", 1)) {
		t.Fatal("AAD is ambiguous")
	}
}

func TestUnknownKey(t *testing.T) {
	k := mustRing(t)
	s, err := k.Seal([]byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := mustRing(t)
	if _, err := other.Open(s, nil); !errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another ring: %v", err)
	}
	if _, err := other.Rewrap(s, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Rewrap with another ring: %v", err)
	}
}

func TestRotateRewrapRetire(t *testing.T) {
	k := mustRing(t)
	first := k.PrimaryID()
	aad := AAD("a", "runner", "r1", 7)
	s, err := k.Seal([]byte("old value"), aad)
	if err != nil {
		t.Fatal(err)
	}
	second, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if second == first || k.PrimaryID() != second || !k.Has(first) || len(k.IDs()) != 2 {
		t.Fatalf("after Rotate: primary %s ids %v", k.PrimaryID(), k.IDs())
	}
	if got, err := k.Open(s, aad); err != nil || string(got) != "old value" {
		t.Fatalf("Open old value after Rotate: %q %v", got, err)
	}
	if err := k.Retire(second); err == nil {
		t.Fatal("retired the primary")
	}
	r, err := k.Rewrap(s, aad)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID != second || !bytes.Equal(r.Ciphertext, s.Ciphertext) || bytes.Equal(r.WrappedKey, s.WrappedKey) {
		t.Fatalf("Rewrap: %+v", r)
	}
	if _, err := k.Rewrap(s, AAD("a", "runner", "r1", 8)); !errors.Is(err, ErrOpen) {
		t.Fatalf("Rewrap with wrong aad: %v", err)
	}
	if err := k.Retire(first, "k-nope"); err == nil || !k.Has(first) {
		t.Fatal("Retire of an unknown id removed keys or did not fail")
	}
	if err := k.Retire(first); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(r, aad); err != nil || string(got) != "old value" {
		t.Fatalf("Open rewrapped after Retire: %q %v", got, err)
	}
	if _, err := k.Open(s, aad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open of the old wrap after Retire: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config", "asset-keys.json")
	if _, err := LoadKeyring(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	k := mustRing(t)
	aad := AAD("x", "global", "", 1)
	s, _ := k.Seal([]byte("v1"), aad)
	if _, err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := k.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", dst.Mode().Perm())
	}
	if open, err := OpenToOthers(path); err != nil || open {
		t.Fatalf("OpenToOthers %v %v", open, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	l, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.PrimaryID() != k.PrimaryID() || strings.Join(l.IDs(), ",") != strings.Join(k.IDs(), ",") {
		t.Fatalf("loaded %s %v, saved %s %v", l.PrimaryID(), l.IDs(), k.PrimaryID(), k.IDs())
	}
	if got, err := l.Open(s, aad); err != nil || string(got) != "v1" {
		t.Fatalf("Open with the loaded ring: %q %v", got, err)
	}
	// Save over an existing, too-open file leaves it 0600.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if open, _ := OpenToOthers(path); !open {
		t.Fatal("OpenToOthers false for 0644")
	}
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after re-save %v", st.Mode().Perm())
	}
}

func TestMalformedFile(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xAB}, 32))
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xCD}, 16))
	cases := map[string]string{
		"not json":        `{"primary": "k-1", "keys": [` + secret,
		"no keys":         `{"primary": "k-1", "keys": []}`,
		"short key":       `{"primary": "k-1", "keys": [{"id": "k-1", "key": "` + short + `"}]}`,
		"not base64":      `{"primary": "k-1", "keys": [{"id": "k-1", "key": "` + secret + `!!"}]}`,
		"no primary":      `{"keys": [{"id": "k-1", "key": "` + secret + `"}]}`,
		"unknown primary": `{"primary": "k-2", "keys": [{"id": "k-1", "key": "` + secret + `"}]}`,
		"duplicate id":    `{"primary": "k-1", "keys": [{"id": "k-1", "key": "` + secret + `"}, {"id": "k-1", "key": "` + secret + `"}]}`,
		"bad id":          `{"primary": "k 1", "keys": [{"id": "k 1", "key": "` + secret + `"}]}`,
		"wrong type":      `{"primary": "k-1", "keys": [{"id": "k-1", "key": 12}]}`,
		"array":           `[]`,
	}
	dir := t.TempDir()
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKeyring(path)
			if err == nil {
				t.Fatal("loaded a malformed file")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "malformed") {
				t.Fatalf("unclear error: %s", msg)
			}
			if strings.Contains(msg, secret[:12]) || strings.Contains(msg, short[:12]) {
				t.Fatalf("error shows key bytes: %s", msg)
			}
		})
	}
	good := `{"primary": "k-1", "keys": [{"id": "k-1", "key": "` + secret + `", "created_at": "2026-01-01T00:00:00Z"}]}`
	path := filepath.Join(dir, "good.json")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKeyring(path); err != nil || k.PrimaryID() != "k-1" {
		t.Fatalf("good file: %v", err)
	}
}
