package runners

import (
	"fmt"

	"github.com/exekra/hub/libs/buildinfo"
)

// MaxMinorsBehind is how many minor versions an agent may lag behind the
// Hub. The skew policy (docs/operations.md "Versions and agent
// compatibility"): the Hub accepts agents of its own major version that are
// at most MaxMinorsBehind minor versions older, and newer agents only within
// its own minor version (a newer patch). Upgrade the Hub first, then the
// agents. A development Hub (version 0.0.0-…, built without a tag) accepts
// every agent.
const MaxMinorsBehind = 2

// AgentVersionRefusal is why a Hub of version hub refuses an agent
// reporting version agent; "" when it accepts it.
func AgentVersionRefusal(hub, agent string) string {
	h, ok := buildinfo.Parse(hub)
	if !ok || h == (buildinfo.Semver{}) {
		return ""
	}
	a, ok := buildinfo.Parse(agent)
	switch {
	case !ok:
		return fmt.Sprintf("the agent reports version %q, which is not a semantic version; install an exekra-runner %d.%d.x (Hub %s)", clipVersion(agent), h.Major, h.Minor, hub)
	case a.Major != h.Major:
		return fmt.Sprintf("agent %s is not of the Hub's major version %d (Hub %s); install an exekra-runner %d.%d.x", agent, h.Major, hub, h.Major, h.Minor)
	case a.Minor > h.Minor:
		return fmt.Sprintf("agent %s is newer than the Hub %s; upgrade the Hub first, or install an exekra-runner %d.%d.x", agent, hub, h.Major, h.Minor)
	case h.Minor-a.Minor > MaxMinorsBehind:
		return fmt.Sprintf("agent %s is more than %d minor versions older than the Hub %s; upgrade the agent to %d.%d.x", agent, MaxMinorsBehind, hub, h.Major, h.Minor)
	}
	return ""
}

func clipVersion(v string) string {
	if len(v) > 32 {
		return v[:32] + "…"
	}
	return v
}
