package runners

import "time"

// Runners instances announce themselves, so that a gateway holding a claim
// in one that dies sends it to another within seconds instead of waiting
// out the claim (docs/architecture.md, "Claims").
const (
	// SubjectPresence carries a Presence from every runners instance each
	// PresenceEvery; only the runners service may publish it.
	SubjectPresence = "exekra.presence.runners"
	// PresenceEvery is how often an instance announces itself.
	PresenceEvery = time.Second
	// PresenceLapse is how long after its last announcement an instance
	// counts as gone.
	PresenceLapse = 3 * time.Second
)

// Presence is one announcement of a runners instance. Stopping is its last:
// it takes no new claims. Reconnects counts how often the instance's
// connection to the bus was re-established: when it changes, answers the
// instance sent around the break may have been lost, and a gateway sends
// the claims it holds there again (a previous release's instances leave it
// out).
type Presence struct {
	Instance   string `json:"instance"`
	Stopping   bool   `json:"stopping,omitempty"`
	Reconnects uint64 `json:"reconnects,omitempty"`
}

// InstanceClaimSubject is SubjectClaim served by one instance only.
func InstanceClaimSubject(instance string) string {
	return "exekra.runners.v1.instance." + instance + ".claim"
}
