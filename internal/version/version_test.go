package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-30T23:59:58Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	tests := []struct {
		name                string
		ldVersion, ldCommit string
		bi                  *debug.BuildInfo
		wantVersion         string
		wantCommit          string
		wantModified        bool
	}{
		{name: "release build: the linker wins", ldVersion: "v1.2.3", ldCommit: rev,
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")},
			wantVersion: "v1.2.3", wantCommit: rev},
		{name: "go install module@v1.2.3", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			wantVersion: "v1.2.3"},
		{name: "go install of a pseudo-version names its commit",
			bi:          &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261130235958-0123456789ab"}},
			wantVersion: "v0.0.0-20261130235958-0123456789ab", wantCommit: "0123456789ab"},
		{name: "go build in a clean checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")},
			wantVersion: "v0.0.0-20261130235958-0123456789ab", wantCommit: rev},
		{name: "go build in a modified checkout", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")},
			wantVersion: "v0.0.0-20261130235958-0123456789ab+dirty", wantCommit: rev, wantModified: true},
		{name: "-buildvcs=false, no linker values", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			wantVersion: Devel},
		{name: "no build info at all", wantVersion: Devel},
		{name: "linker commit only", ldCommit: rev, bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			wantVersion: Devel, wantCommit: rev},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := resolve(tc.ldVersion, tc.ldCommit, tc.bi)
			if got.Version != tc.wantVersion || got.Commit != tc.wantCommit || got.Modified != tc.wantModified {
				t.Errorf("resolve = %+v, want version %q commit %q modified %v", got, tc.wantVersion, tc.wantCommit, tc.wantModified)
			}
			if got.Go == "" || got.OS == "" || got.Arch == "" {
				t.Errorf("resolve = %+v, want Go, OS and Arch", got)
			}
		})
	}
}

func TestUserAgent(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", OS: "linux", Arch: "amd64"}
	if got, want := i.UserAgent(), "runway/v1.2.3 (0123456789ab; linux/amd64)"; got != want {
		t.Errorf("UserAgent = %q, want %q", got, want)
	}
	i.Commit = ""
	if got, want := i.UserAgent(), "runway/v1.2.3 (linux/amd64)"; got != want {
		t.Errorf("UserAgent without commit = %q, want %q", got, want)
	}
	if ua := UserAgent(); !strings.HasPrefix(ua, "runway/"+String()+" (") {
		t.Errorf("UserAgent() = %q, want runway/%s (...)", ua, String())
	}
}

func TestString(t *testing.T) {
	i := Info{Version: "v1.2.3", Commit: "0123456789abcdef", Go: "go1.26.8", OS: "linux", Arch: "arm64"}
	if got, want := i.String(), "runway v1.2.3 (commit 0123456789ab) go1.26.8 linux/arm64"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	i.Version = "v0.0.0-20261130235958-0123456789ab"
	if got := i.String(); strings.Contains(got, "(commit") {
		t.Errorf("String = %q: a pseudo-version already names its commit", got)
	}
}
