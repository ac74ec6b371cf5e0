package runners

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTP routes of runners, in gin syntax (":name" is a path parameter). The
// gateway's route table and every client use these; the helpers below fill
// the parameters in (each escaped as one path segment).
const (
	// Runner protocol (HTTP Basic: runner id, machine secret).
	PathHeartbeat   = "/api/v1/runner/heartbeat"
	PathClaim       = "/api/v1/runner/jobs/claim"              // ?wait=<seconds> (QueryWait)
	PathJobLogs     = "/api/v1/runner/jobs/:id/logs"           // LogsBody
	PathJobComplete = "/api/v1/runner/jobs/:id/complete"       // CompleteBody
	PathPackage     = "/api/v1/runner/packages/:name/:version" // the package's bytes

	// Registry (signed-in users).
	PathRunners                = "/api/v1/runners"
	PathRunner                 = "/api/v1/runners/:id"
	PathRunnerRegenerateSecret = "/api/v1/runners/:id/regenerate-secret"
)

// QueryWait is the claim's query parameter: how many seconds to wait for a job.
const QueryWait = "wait"

// Other headers of the runner protocol (HeaderProtocol, HeaderClaimID and
// HeaderCancelRequested are declared beside what they concern).
const (
	// HeaderRetryAfter on a 429 or 503: seconds (or an HTTP date) to wait.
	HeaderRetryAfter = "Retry-After"
	// HeaderUserAgent carries exekra-runner/<version> (UserAgentPrefix).
	HeaderUserAgent = "User-Agent"
)

// ClaimPath is PathClaim asking the Hub to wait up to wait (whole seconds,
// clamped to 0..MaxClaimWaitSeconds) for a job.
func ClaimPath(wait time.Duration) string {
	secs := min(max(int(wait/time.Second), 0), MaxClaimWaitSeconds)
	return PathClaim + "?" + QueryWait + "=" + strconv.Itoa(secs)
}

// JobLogsPath is PathJobLogs of job id.
func JobLogsPath(id string) string { return fill(PathJobLogs, id) }

// JobCompletePath is PathJobComplete of job id.
func JobCompletePath(id string) string { return fill(PathJobComplete, id) }

// PackagePath is PathPackage of a package version.
func PackagePath(name, version string) string { return fill(PathPackage, name, version) }

// RunnerPath is PathRunner of runner id.
func RunnerPath(id string) string { return fill(PathRunner, id) }

// RunnerRegenerateSecretPath is PathRunnerRegenerateSecret of runner id.
func RunnerRegenerateSecretPath(id string) string { return fill(PathRunnerRegenerateSecret, id) }

// fill replaces the ":name" segments of a gin pattern, in order, with vals
// escaped as path segments. It panics when the counts differ: that is a bug
// in this package, not bad input.
func fill(pattern string, vals ...string) string {
	segs := strings.Split(pattern, "/")
	n := 0
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			if n >= len(vals) {
				panic("runners: too few values for " + pattern)
			}
			segs[i] = url.PathEscape(vals[n])
			n++
		}
	}
	if n != len(vals) {
		panic("runners: too many values for " + pattern)
	}
	return strings.Join(segs, "/")
}
