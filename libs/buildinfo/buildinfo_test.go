package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.modified", Value: "true"},
		}}, true
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	cases := []struct {
		name                    string
		version, commit, dirty  string
		read                    func() (*debug.BuildInfo, bool)
		wantV, wantC, wantDirty string
	}{
		{"stamped wins", "1.2.3", "abcdefabcdef", "", vcs, "1.2.3", "abcdefabcdef", ""},
		{"toolchain fills the commit", "", "", "", vcs, DevVersion, "0123456789ab", "true"},
		{"nothing known", "", "", "", none, DevVersion, "unknown", ""},
	}
	for _, tc := range cases {
		v, c, d := resolve(tc.version, tc.commit, tc.dirty, tc.read)
		if v != tc.wantV || c != tc.wantC || d != tc.wantDirty {
			t.Errorf("%s: resolve = %q %q %q, want %q %q %q", tc.name, v, c, d, tc.wantV, tc.wantC, tc.wantDirty)
		}
	}
}

func TestThisBuildIsKnown(t *testing.T) {
	if !Valid(Version) {
		t.Errorf("Version %q is not a semantic version", Version)
	}
	if Commit == "" {
		t.Error("Commit is empty")
	}
	want := Version + " (commit " + Commit + ")"
	if Dirty() {
		want = Version + " (commit " + Commit + ", modified)"
	}
	if String() != want {
		t.Errorf("String() = %q, want %q", String(), want)
	}
}

func TestParse(t *testing.T) {
	good := map[string]Semver{
		"1.2.3":                   {1, 2, 3},
		"v10.20.30":               {10, 20, 30},
		"0.0.0-dev":               {0, 0, 0},
		"0.0.0-dev+0123456789ab":  {0, 0, 0},
		"1.4.0-rc.1":              {1, 4, 0},
		"1.4.0+12.gabcdef1-dirty": {1, 4, 0},
		"1.4.0-dirty":             {1, 4, 0},
	}
	for v, want := range good {
		got, ok := Parse(v)
		if !ok || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-", "1.2.3+", "1.2.3-01",
		"1.2.3-a..b", "1.2.3-a_b", "dev", "1.2.3 "} {
		if Valid(v) {
			t.Errorf("Valid(%q) = true", v)
		}
	}
}
