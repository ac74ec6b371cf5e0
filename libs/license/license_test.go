package license

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/errs"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func keypair(t testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	priv, pub, err := Keygen()
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func testDocument() Document {
	return Document{LicenseID: "lic-1", Licensee: "Acme Corp", AdminEmail: "admin@acme.test", MaxRunners: 5,
		IssuedAt: now.Add(-48 * time.Hour), NotBefore: now.Add(-24 * time.Hour), ExpiresAt: now.Add(90 * 24 * time.Hour),
		Validation: Validation{Mode: ModeOnline, IntervalHours: 24, GraceDays: 14}, PortalURL: "https://portal.example.test/usage"}
}

func issue(t testing.TB, priv ed25519.PrivateKey, doc Document) string {
	t.Helper()
	text, err := Issue(priv, doc)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return text
}

// rewrite re-renders text with fn applied to the data of the block labelled label.
func rewrite(t testing.TB, text, label string, fn func([]byte)) string {
	t.Helper()
	blocks, err := parseBlocks(licenseKind, text)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, b := range blocks {
		if b.label == label {
			fn(b.data)
		}
		var headers []string
		for _, name := range []string{"alg", "key"} {
			if v, ok := b.headers[name]; ok {
				headers = append(headers, name, v)
			}
		}
		out.WriteString(armor(b.label, b.data, headers...))
	}
	return out.String()
}

func TestVerify(t *testing.T) {
	priv, pub := keypair(t)
	otherPriv, otherPub := keypair(t)
	trusted := []ed25519.PublicKey{otherPub, pub}
	good := issue(t, priv, testDocument())
	sigAt := strings.Index(good, "-----BEGIN EXEKRA LICENSE SIGNATURE")
	forged := strings.Replace(issue(t, otherPriv, testDocument()), EncodePublicKey(otherPub), EncodePublicKey(pub), 1)
	flip := func(b []byte) { b[len(b)/2] ^= 0x01 }
	cases := []struct {
		name    string
		text    string
		trusted []ed25519.PublicKey
		at      time.Time
		want    Reason
	}{
		{"a genuine license verifies", good, trusted, now, ""},
		{"CRLF line ends and surrounding whitespace are tolerated",
			"\r\n  \r\n" + strings.ReplaceAll(strings.ReplaceAll(good, "\n", "  \r\n"), "-----BEGIN", "\t-----BEGIN") + "\r\n\r\n", trusted, now, ""},
		{"a note above the license is ignored", "Your license, as agreed:\n\n" + good, trusted, now, ""},
		{"an unknown algorithm is refused", strings.Replace(good, "alg: ed25519", "alg: rsa-pss", 1), trusted, now, ReasonUnknownAlgorithm},
		{"a file cut inside the document is truncated", good[:sigAt/2], trusted, now, ReasonTruncated},
		{"a file without its signature block is truncated", good[:sigAt], trusted, now, ReasonTruncated},
		{"a file cut inside the signature block is truncated", good[:len(good)-20], trusted, now, ReasonTruncated},
		{"a flipped byte in the document is refused", rewrite(t, good, "EXEKRA LICENSE", flip), trusted, now, ReasonBadSignature},
		{"a flipped byte in the signature is refused", rewrite(t, good, "EXEKRA LICENSE SIGNATURE", flip), trusted, now, ReasonBadSignature},
		{"a license signed by a key the Hub does not trust is refused", good, []ed25519.PublicKey{otherPub}, now, ReasonUntrustedKey},
		{"a license naming a trusted key but signed by another is refused", forged, trusted, now, ReasonBadSignature},
		{"a Hub without trusted keys refuses every license", good, nil, now, ReasonUntrustedKey},
		{"a license that is not yet valid is refused", good, trusted, now.Add(-25 * time.Hour), ReasonNotYetValid},
		{"an expired license is refused", good, trusted, now.Add(90 * 24 * time.Hour), ReasonExpired},
		{"text that is no license file is malformed", "hello", trusted, now, ReasonMalformed},
		{"bad base64 in the document is malformed", strings.Replace(good, "\n", "\n*", 2), trusted, now, ReasonMalformed},
		{"two licenses in one file are malformed", good + good, trusted, now, ReasonMalformed},
		{"a signature block before the document is malformed", good[sigAt:] + good[:sigAt], trusted, now, ReasonMalformed},
		{"an unknown signature header is malformed", strings.Replace(good, "alg: ed25519", "alg: ed25519\nnote: hi", 1), trusted, now, ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Verify(c.text, c.trusted, c.at)
			if got := ReasonOf(err); got != c.want {
				t.Fatalf("reason = %q (err %v), want %q", got, err, c.want)
			}
			if c.want == "" {
				if doc.LicenseID != "lic-1" || doc.MaxRunners != 5 {
					t.Fatalf("document = %+v", doc)
				}
				return
			}
			if kind, msg := errs.Public(err); kind != errs.InvalidLicense || !strings.Contains(msg, "license") {
				t.Fatalf("public error = %s %q, want invalid_license naming the license", kind, msg)
			}
		})
	}
}

func TestSignedDocumentIsParsedOnlyAfterTheSignature(t *testing.T) {
	priv, pub := keypair(t)
	trusted := []ed25519.PublicKey{pub}
	cases := []struct {
		name string
		body string
		want Reason
	}{
		{"a signed document that is not JSON is refused", "{not json", ReasonInvalidDocument},
		{"a signed document without max_runners is refused", `{"license_id":"x","licensee":"y","admin_email":"a@b.test"}`, ReasonInvalidDocument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(seal(licenseKind, priv, []byte(c.body)), trusted)
			if got := ReasonOf(err); got != c.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, c.want)
			}
		})
	}
	t.Run("an altered unsigned document fails on the signature, not on its JSON", func(t *testing.T) {
		text := rewrite(t, seal(licenseKind, priv, []byte("{not json")), "EXEKRA LICENSE", func(b []byte) { b[0] = 'X' })
		if got := ReasonOf(func() error { _, err := Open(text, trusted); return err }()); got != ReasonBadSignature {
			t.Fatalf("reason = %q, want bad_signature", got)
		}
	})
}

func TestIssue(t *testing.T) {
	priv, pub := keypair(t)
	t.Run("zero issue and start times default to now", func(t *testing.T) {
		doc := testDocument()
		doc.IssuedAt, doc.NotBefore, doc.ExpiresAt = time.Time{}, time.Time{}, time.Now().Add(time.Hour)
		got, err := Open(issue(t, priv, doc), []ed25519.PublicKey{pub})
		if err != nil || time.Since(got.IssuedAt) > time.Minute || !got.NotBefore.Equal(got.IssuedAt) {
			t.Fatalf("Open = %+v, %v", got, err)
		}
	})
	bad := map[string]func(*Document){
		"an empty license id is refused":                func(d *Document) { d.LicenseID = " " },
		"an empty licensee is refused":                  func(d *Document) { d.Licensee = "" },
		"an admin email without @ is refused":           func(d *Document) { d.AdminEmail = "admin" },
		"zero runners are refused":                      func(d *Document) { d.MaxRunners = 0 },
		"expiry before the start is refused":            func(d *Document) { d.ExpiresAt = d.NotBefore.Add(-time.Hour) },
		"an unknown validation mode is refused":         func(d *Document) { d.Validation.Mode = "sometimes" },
		"a zero validation interval is refused":         func(d *Document) { d.Validation.IntervalHours = 0 },
		"negative grace is refused":                     func(d *Document) { d.Validation.GraceDays = -1 },
		"online validation without a portal is refused": func(d *Document) { d.PortalURL = "" },
		"a portal URL that is not http(s) is refused":   func(d *Document) { d.PortalURL = "ftp://x" },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			doc := testDocument()
			mutate(&doc)
			if _, err := Issue(priv, doc); ReasonOf(err) != ReasonInvalidDocument {
				t.Fatalf("Issue error = %v, want invalid_document", err)
			}
		})
	}
	t.Run("an offline license needs no portal", func(t *testing.T) {
		doc := testDocument()
		doc.PortalURL, doc.Validation.Mode = "", ModeOffline
		issue(t, priv, doc)
	})
}

func TestSignatureOf(t *testing.T) {
	priv, _ := keypair(t)
	sig, err := SignatureOf(issue(t, priv, testDocument()))
	if err != nil || len(sig) != 88 {
		t.Fatalf("SignatureOf = %q, %v", sig, err)
	}
}
