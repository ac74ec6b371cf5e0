package agent

import (
	"crypto/tls"

	"github.com/exekra/hub/libs/runnerclient"
)

// Trust modes, as logged at start-up.
const (
	trustSystem      = "system roots"
	trustCAFile      = "CA file"
	trustFingerprint = "pinned fingerprint"
)

// tlsConfig verifies the Hub's certificate (runnerclient.TLSConfig): against
// the system's roots by default, against the CA file when one is given, or
// by its pinned SHA-256 fingerprint (self-signed pilots). Verification is
// never skipped: without --ca or --fingerprint, a certificate the system
// does not trust fails the handshake and the agent says so.
func tlsConfig(c Config) (*tls.Config, string, error) {
	tc, err := runnerclient.TLSConfig(c.CAFile, c.Fingerprint)
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	mode := trustSystem
	if c.CAFile != "" {
		mode = trustCAFile
	}
	if c.Fingerprint != "" {
		mode = trustFingerprint
	}
	return tc, mode, nil
}
