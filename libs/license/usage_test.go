package license

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

func TestUsageReportAndReceipt(t *testing.T) {
	vendor, vendorPub := keypair(t)
	install, installPub := keypair(t)
	report := UsageReport{ReportID: "r1", LicenseID: "lic-1", InstallationID: "i1", RunnerCount: 3, Version: "1.0.0",
		At: now, PeriodStart: now.Add(-24 * time.Hour), PeriodEnd: now}
	file, err := SealUsageReport(install, report)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a usage report opens with the key it names", func(t *testing.T) {
		got, key, err := OpenUsageReport(file)
		if err != nil || !key.Equal(installPub) || got.RunnerCount != 3 || !got.PeriodStart.Equal(report.PeriodStart) {
			t.Fatalf("OpenUsageReport = %+v, %v", got, err)
		}
	})
	t.Run("an altered usage report is refused", func(t *testing.T) {
		bad := rewrite(t, file, "EXEKRA USAGE REPORT", func(b []byte) { b[5] ^= 1 })
		if _, _, err := OpenUsageReport(bad); ReasonOf(err) != ReasonBadSignature {
			t.Fatalf("err = %v", err)
		}
	})
	receipt := Receipt{LicenseID: "lic-1", InstallationID: "i1", ReportID: "r1", ValidatedAt: now}
	signed, err := IssueReceipt(vendor, receipt)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		text    string
		trusted []ed25519.PublicKey
		want    Reason
	}{
		{"a receipt signed by a trusted vendor key verifies", signed, []ed25519.PublicKey{vendorPub}, ""},
		{"a receipt signed by another key is refused", signed, []ed25519.PublicKey{installPub}, ReasonUntrustedKey},
		{"a usage report is not a receipt", file, []ed25519.PublicKey{installPub}, ReasonMalformed},
		{"a receipt with a flipped byte is refused",
			rewrite(t, signed, "EXEKRA LICENSE RECEIPT", func(b []byte) { b[10] ^= 1 }), []ed25519.PublicKey{vendorPub}, ReasonBadSignature},
		{"a receipt cut short is truncated", signed[:len(signed)/2], []ed25519.PublicKey{vendorPub}, ReasonTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := VerifyReceipt(c.text, c.trusted)
			if ReasonOf(err) != c.want {
				t.Fatalf("reason = %q (%v), want %q", ReasonOf(err), err, c.want)
			}
			if c.want == "" && got != receipt {
				t.Fatalf("receipt = %+v, want %+v", got, receipt)
			}
		})
	}
	t.Run("a license file is not a receipt", func(t *testing.T) {
		lic := issue(t, vendor, testDocument())
		if _, err := VerifyReceipt(lic, []ed25519.PublicKey{vendorPub}); ReasonOf(err) != ReasonMalformed ||
			!strings.Contains(err.Error(), "receipt") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestKeys(t *testing.T) {
	priv, pub := keypair(t)
	t.Run("a private key file round-trips, CRLF and all", func(t *testing.T) {
		text := strings.ReplaceAll(EncodePrivateKey(priv), "\n", "\r\n")
		got, err := ParsePrivateKey(text)
		if err != nil || !got.Equal(priv) {
			t.Fatalf("ParsePrivateKey = %v", err)
		}
	})
	t.Run("a public key line round-trips with its newline", func(t *testing.T) {
		got, err := ParsePublicKey(EncodePublicKey(pub) + "\n")
		if err != nil || !got.Equal(pub) {
			t.Fatalf("ParsePublicKey = %v", err)
		}
	})
	bad := []struct{ name, text string }{
		{"a key file of another algorithm is refused", strings.Replace(EncodePrivateKey(priv), "ed25519", "rsa", 1)},
		{"a public key file is not a private key", EncodePublicKey(pub)},
		{"a cut key file is refused", EncodePrivateKey(priv)[:60]},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParsePrivateKey(c.text); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("a short or non-base64 public key is refused, naming its position", func(t *testing.T) {
		_, err := ParsePublicKeys([]string{EncodePublicKey(pub), "abcd", "!!"})
		if err == nil || !strings.Contains(err.Error(), "key 2") {
			t.Fatalf("err = %v", err)
		}
	})
}
