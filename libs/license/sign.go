package license

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

const algEd25519 = "ed25519"

// seal signs body for kind k and renders the two blocks.
func seal(k kind, priv ed25519.PrivateKey, body []byte) string {
	sig := ed25519.Sign(priv, payload(k, body))
	pub := priv.Public().(ed25519.PublicKey)
	return armor(k.label, body) + armor(k.label+" SIGNATURE", sig, "alg", algEd25519, "key", EncodePublicKey(pub))
}

func payload(k kind, body []byte) []byte {
	return append([]byte(k.domain), body...)
}

// open checks text's signature and returns the signed bytes and the signer.
// With trusted nil, the key the file names is used (a self-signed file whose
// key the reader pins elsewhere); otherwise it must be one of trusted.
func open(k kind, text string, trusted []ed25519.PublicKey) ([]byte, ed25519.PublicKey, error) {
	env, err := parseEnvelope(k, text)
	if err != nil {
		return nil, nil, err
	}
	if !strings.EqualFold(env.alg, algEd25519) {
		return nil, nil, k.fail(ReasonUnknownAlgorithm, "signed with algorithm %q; only ed25519 is accepted", env.alg)
	}
	if len(env.sig) != ed25519.SignatureSize {
		return nil, nil, k.fail(ReasonTruncated, "truncated: the signature is %d bytes, want %d", len(env.sig), ed25519.SignatureSize)
	}
	named, err := ParsePublicKey(env.key)
	if err != nil {
		return nil, nil, k.fail(ReasonMalformed, "malformed: signature key header: %v", err)
	}
	signer := named
	if trusted != nil {
		if signer = findKey(trusted, named); signer == nil {
			return nil, nil, &Error{Reason: ReasonUntrustedKey, Message: fmt.Sprintf(
				"the %s is signed by key %s, which this Hub does not trust (license.public_keys)", k.noun, env.key)}
		}
	}
	if !ed25519.Verify(signer, payload(k, env.body), env.sig) {
		return nil, nil, &Error{Reason: ReasonBadSignature, Message: fmt.Sprintf(
			"the %s signature does not match its contents: the file was altered or not signed by the key it names", k.noun)}
	}
	return env.body, signer, nil
}

func findKey(keys []ed25519.PublicKey, k ed25519.PublicKey) ed25519.PublicKey {
	for _, t := range keys {
		if t.Equal(k) {
			return t
		}
	}
	return nil
}

// decode parses signed JSON bytes into v after the signature was checked.
func decode(k kind, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Reason: ReasonInvalidDocument, Message: fmt.Sprintf("the %s document is not valid JSON", k.noun)}
	}
	return nil
}

// Issue signs doc with priv and returns the license file. A zero IssuedAt is
// set to now and a zero NotBefore to IssuedAt; times are stored in UTC, whole seconds.
func Issue(priv ed25519.PrivateKey, doc Document) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("issue license: the signing key is not an Ed25519 private key")
	}
	if doc.IssuedAt.IsZero() {
		doc.IssuedAt = time.Now()
	}
	if doc.NotBefore.IsZero() {
		doc.NotBefore = doc.IssuedAt
	}
	for _, t := range []*time.Time{&doc.IssuedAt, &doc.NotBefore, &doc.ExpiresAt} {
		*t = t.UTC().Truncate(time.Second)
	}
	if err := doc.Check(); err != nil {
		return "", err
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("issue license: encode document: %w", err)
	}
	return seal(licenseKind, priv, body), nil
}

// Open checks the signature against trusted and then the document's fields,
// but not whether it is valid at a given time (see Verify).
func Open(text string, trusted []ed25519.PublicKey) (Document, error) {
	if len(trusted) == 0 {
		return Document{}, &Error{Reason: ReasonUntrustedKey,
			Message: "this Hub trusts no license signing key: set license.public_keys (EXEKRA_LICENSE_PUBLIC_KEYS)"}
	}
	body, _, err := open(licenseKind, text, trusted)
	if err != nil {
		return Document{}, err
	}
	var doc Document
	if err := decode(licenseKind, body, &doc); err != nil {
		return Document{}, err
	}
	return doc, doc.Check()
}

// Verify is Open plus the check that the license is valid at now: it refuses
// a license that is not yet valid or has expired.
func Verify(text string, trusted []ed25519.PublicKey, now time.Time) (Document, error) {
	doc, err := Open(text, trusted)
	if err != nil {
		return Document{}, err
	}
	if err := doc.CheckTime(now); err != nil {
		return Document{}, err
	}
	return doc, nil
}

// SignatureOf returns the base64 signature a license file carries, unverified
// (for storing beside the document).
func SignatureOf(text string) (string, error) {
	env, err := parseEnvelope(licenseKind, text)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(env.sig), nil
}
