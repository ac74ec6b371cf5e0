package runners

import (
	"strings"
	"testing"
)

func TestAgentVersionRefusal(t *testing.T) {
	cases := []struct {
		hub, agent string
		refused    string // a part of the refusal; "" when accepted
	}{
		{"1.4.2", "1.4.2", ""},
		{"1.4.2", "1.4.9", ""}, // a newer patch of the same minor
		{"1.4.2", "1.3.0", ""},
		{"1.4.2", "1.2.7", ""}, // MaxMinorsBehind older
		{"1.4.2+3.gabcdef1", "1.2.0-rc.1", ""},
		{"1.4.2", "1.1.9", "more than 2 minor versions older"},
		{"1.4.2", "1.5.0", "newer than the Hub"},
		{"1.4.2", "2.4.2", "major version 1"},
		{"1.4.2", "0.4.2", "major version 1"},
		{"1.4.2", "0.0.0-dev", "major version 1"},
		{"1.4.2", "loadgen", "not a semantic version"},
		{"1.4.2", "", "not a semantic version"},
		{"0.0.0-dev", "7.1.0", ""}, // a development Hub accepts every agent
		{"0.0.0-dev+0123456789ab", "anything", ""},
	}
	for _, tc := range cases {
		got := AgentVersionRefusal(tc.hub, tc.agent)
		if (tc.refused == "") != (got == "") || !strings.Contains(got, tc.refused) {
			t.Errorf("hub %s, agent %q: refusal %q, want one containing %q", tc.hub, tc.agent, got, tc.refused)
		}
	}
}
