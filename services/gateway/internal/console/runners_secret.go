package console

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/gin-gonic/gin"
)

// AgentSecretFile is where the agent command shown with a new machine secret
// tells exekra-runner to read it from.
const AgentSecretFile = "/etc/exekra-runner/secret"

// secretData is the content of the page that shows a machine secret, once.
type secretData struct {
	Runner      runners.Runner
	Secret      string
	Regenerated bool   // a replaced secret rather than a new runner's
	Command     string // the agent command line, without the secret
	SecretFile  string
	Fingerprint string // "" when this gateway serves no certificate itself
}

// showSecret renders the one page a machine secret is ever shown on. It is the
// answer to the POST itself (show sends Cache-Control: no-store, web.NoStore), so the
// secret is in no URL, redirect, flash or log.
func (con *Console) showSecret(c *gin.Context, r runners.Runner, secret string, regenerated bool) {
	fp := con.fingerprint()
	d := secretData{Runner: r, Secret: secret, Regenerated: regenerated, SecretFile: AgentSecretFile, Fingerprint: fp,
		Command: agentCommand(hubURL(c), r.ID, fp)}
	title := "Runner registered"
	if regenerated {
		title = "New machine secret"
	}
	c.Header("Referrer-Policy", "no-referrer")
	con.show(c, http.StatusOK, "runner_secret", page{Title: title, Data: d})
}

// fingerprint is the SHA-256 fingerprint of the certificate this gateway
// serves now, "" without TLS (see Console.CertFingerprint).
func (con *Console) fingerprint() string {
	if con.CertFingerprint == nil {
		return ""
	}
	return con.CertFingerprint()
}

// agentCommand is the exekra-runner command line for the runner id; the
// secret itself is read from AgentSecretFile, never passed as an argument.
func agentCommand(hub, id, fingerprint string) string {
	args := []string{"exekra-runner", "--hub", shellArg(hub), "--id", shellArg(id), "--secret-file", AgentSecretFile}
	if fingerprint != "" {
		args = append(args, "--fingerprint", shellArg(fingerprint))
	}
	return strings.Join(args, " ")
}

// hostShape is a host name or address with an optional port, as a browser sends it.
var hostShape = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$`)

// hubURL is the Hub's address as the browser used it: https when the request
// came over TLS (or through a proxy that says so), http otherwise.
func hubURL(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := c.Request.Host
	if !hostShape.MatchString(host) {
		host = "HUB-HOST"
	}
	return scheme + "://" + host + "/"
}

// plainArg is what a POSIX shell takes as one word without quoting.
var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellArg quotes s for a POSIX shell when it needs it.
func shellArg(s string) string {
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
