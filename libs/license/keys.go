package license

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// File names exekractl writes: the vendor's private signing key and the
// public key Hubs trust (license.public_keys / EXEKRA_LICENSE_PUBLIC_KEYS).
const (
	PrivateKeyFile = "license.key"
	PublicKeyFile  = "license.pub"
)

var privateKeyKind = kind{label: "EXEKRA LICENSE SIGNING KEY", noun: "signing key"}

// Keygen makes a new Ed25519 signing key pair.
func Keygen() (ed25519.PrivateKey, ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	return priv, pub, nil
}

// EncodePrivateKey renders priv as a license.key file (keep it secret).
func EncodePrivateKey(priv ed25519.PrivateKey) string {
	return armor(privateKeyKind.label, priv.Seed(), "alg", "ed25519")
}

// ParsePrivateKey reads a license.key file.
func ParsePrivateKey(text string) (ed25519.PrivateKey, error) {
	blocks, err := parseBlocks(privateKeyKind, text)
	if err != nil {
		return nil, err
	}
	if len(blocks) != 1 || blocks[0].label != privateKeyKind.label {
		return nil, fmt.Errorf("not an Exekra license signing key: expected one %q block", privateKeyKind.label)
	}
	b := blocks[0]
	if alg := b.headers["alg"]; !strings.EqualFold(alg, "ed25519") {
		return nil, fmt.Errorf("signing key algorithm %q is not ed25519", alg)
	}
	if len(b.data) != ed25519.SeedSize {
		return nil, fmt.Errorf("signing key is %d bytes, want an Ed25519 seed of %d", len(b.data), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b.data), nil
}

// EncodePublicKey renders pub as one base64 line, usable as-is in
// EXEKRA_LICENSE_PUBLIC_KEYS and in signature blocks' key header.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads what EncodePublicKey wrote (surrounding space ignored).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("public key is not base64")
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key is %d bytes, want %d (Ed25519)", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// ParsePublicKeys reads a list of trusted keys (e.g. license.public_keys),
// naming the position of a bad one.
func ParsePublicKeys(list []string) ([]ed25519.PublicKey, error) {
	keys := make([]ed25519.PublicKey, 0, len(list))
	for i, s := range list {
		k, err := ParsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("trusted license key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
