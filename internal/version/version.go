// Package version is the one place runway's version, commit and HTTP
// User-Agent come from.
//
// Release builds (goreleaser, the Action's source build, the README's
// install line) set the version and commit with the linker:
//
//	go build -ldflags "-X github.com/runway-ci/runway/internal/version.version=v1.2.3 \
//	  -X github.com/runway-ci/runway/internal/version.commit=$(git rev-parse HEAD)" ./cmd/...
//
// Anything else falls back to what the Go toolchain records in the binary
// (runtime/debug.ReadBuildInfo): the module version for
// `go install github.com/runway-ci/runway/cmd/...@v1.2.3`, and otherwise the
// VCS stamp of a build inside a git checkout, turned into a Go
// pseudo-version (v0.0.0-YYYYMMDDHHMMSS-abcdef123456, "+dirty" for a
// modified tree). A build with neither (go build -buildvcs=false outside a
// module version) reports "devel", never an invented number.
//
// Everything that reports a version reads it here: `runway version`, the
// User-Agent of registry and GitHub requests, image labels and the
// annotation registrar writes on every entity.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Set with -ldflags -X; empty means "ask the build info".
var (
	version string
	commit  string
)

// Devel is the version of a build that carries no version information.
const Devel = "devel"

// Info describes the running binary. Its JSON field names are stable: they
// are `runway version -o json`'s output.
type Info struct {
	// Version is the release tag (v1.2.3), a pseudo-version from git, or
	// "devel".
	Version string `json:"version"`
	// Commit is the full git commit the binary was built from, when known.
	Commit string `json:"commit,omitempty"`
	// CommitTime is the commit's time (RFC 3339), when known.
	CommitTime string `json:"commitTime,omitempty"`
	// Modified reports a build from a working tree with uncommitted changes.
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

var (
	once sync.Once
	info Info
)

// Get returns the running binary's Info.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		info = resolve(version, commit, bi)
	})
	return info
}

// String returns the running binary's version.
func String() string { return Get().Version }

// UserAgent returns the User-Agent runway sends with every HTTP request:
// runway/VERSION (COMMIT12; GOOS/GOARCH).
func UserAgent() string { return Get().UserAgent() }

// UserAgent formats i as an HTTP User-Agent product token and comment.
func (i Info) UserAgent() string {
	var c []string
	if i.Commit != "" {
		c = append(c, short(i.Commit))
	}
	c = append(c, i.OS+"/"+i.Arch)
	return fmt.Sprintf("runway/%s (%s)", i.Version, strings.Join(c, "; "))
}

// String is the one-line form `runway version` prints.
func (i Info) String() string {
	s := "runway " + i.Version
	if i.Commit != "" && !strings.Contains(i.Version, short(i.Commit)) {
		s += " (commit " + short(i.Commit) + ")"
	}
	if i.Modified && !strings.HasSuffix(i.Version, "+dirty") {
		s += " (modified)"
	}
	return s + fmt.Sprintf(" %s %s/%s", i.Go, i.OS, i.Arch)
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// resolve combines the linker-set values with the build info; the linker
// wins where it set something.
func resolve(ldVersion, ldCommit string, bi *debug.BuildInfo) Info {
	i := Info{Version: ldVersion, Commit: ldCommit, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	var vcsTime string
	if bi != nil {
		if bi.GoVersion != "" {
			i.Go = bi.GoVersion
		}
		var rev string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
		if i.Commit == "" {
			i.Commit = rev
		}
		if i.Version == "" {
			if v := bi.Main.Version; v != "" && v != "(devel)" {
				i.Version = v
			} else if rev != "" {
				i.Version = pseudoVersion(rev, vcsTime, i.Modified)
			}
		}
		if i.Commit == "" {
			i.Commit = commitOfPseudo(i.Version)
		}
	}
	if i.Commit != "" && i.Commit == ldCommit {
		vcsTime = "" // the build info's stamp may describe another tree
	}
	if vcsTime != "" {
		i.CommitTime = vcsTime
	}
	if i.Version == "" {
		i.Version = Devel
	}
	return i
}

// pseudoVersion is Go's pseudo-version for a commit with no tag before it:
// v0.0.0-YYYYMMDDHHMMSS-abcdef123456.
func pseudoVersion(rev, vcsTime string, modified bool) string {
	ts := "00000000000000"
	if t, err := time.Parse(time.RFC3339, vcsTime); err == nil {
		ts = t.UTC().Format("20060102150405")
	}
	v := "v0.0.0-" + ts + "-" + short(rev)
	if modified {
		v += "+dirty"
	}
	return v
}

// commitOfPseudo returns the (short) commit a pseudo-version names, or "".
func commitOfPseudo(v string) string {
	v, _, _ = strings.Cut(v, "+")
	parts := strings.Split(v, "-")
	if len(parts) < 3 {
		return ""
	}
	last := parts[len(parts)-1]
	if len(last) != 12 || strings.Trim(last, "0123456789abcdef") != "" {
		return ""
	}
	return last
}
