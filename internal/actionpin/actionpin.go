// Package actionpin reads and writes the release pins in runway's
// action.yml: the runway version whose prebuilt binaries the Action
// fetches, and the sha256 of each binary. The Action refuses a download
// whose checksum is not the one pinned here, so the trust anchor is the
// commit a workflow pins in `uses: runway-ci/runway@<sha>`, not the
// download site.
//
// The pins are two lines of the install step's env:
//
//	RUNWAY_PINNED_VERSION: "v1.2.3"
//	RUNWAY_PINNED_SHA256: "darwin_amd64=<hex> darwin_arm64=<hex> linux_amd64=<hex> linux_arm64=<hex>"
//
// Both are empty between releases: then the Action builds runway from its
// own source. `bash .ci/release.sh pin vX.Y.Z` fills them (tools/pinaction),
// and the act test writes them for a binary it serves itself.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package actionpin

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Pins is what action.yml pins.
type Pins struct {
	// Version is the release tag ("v1.2.3"); empty when nothing is pinned.
	Version string
	// SHA256 maps "GOOS_GOARCH" to the hex sha256 of that release's
	// runway-core binary (runway-core_GOOS_GOARCH).
	SHA256 map[string]string
}

// Binary is the release asset name of runway-core for GOOS_GOARCH key.
func Binary(key string) string { return "runway-core_" + key }

var (
	versionLine = regexp.MustCompile(`(?m)^(\s+RUNWAY_PINNED_VERSION:)[ \t]*(.*)$`)
	sumsLine    = regexp.MustCompile(`(?m)^(\s+RUNWAY_PINNED_SHA256:)[ \t]*(.*)$`)
	tagRE       = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)
	keyRE       = regexp.MustCompile(`^(linux|darwin)_(amd64|arm64)$`)
)

// Read returns the pins in action.yml.
func Read(actionYML []byte) (Pins, error) {
	v, err := field(actionYML, versionLine, "RUNWAY_PINNED_VERSION")
	if err != nil {
		return Pins{}, err
	}
	s, err := field(actionYML, sumsLine, "RUNWAY_PINNED_SHA256")
	if err != nil {
		return Pins{}, err
	}
	p := Pins{Version: v, SHA256: map[string]string{}}
	for _, kv := range strings.Fields(s) {
		k, h, ok := strings.Cut(kv, "=")
		if !ok {
			return Pins{}, fmt.Errorf("action.yml: RUNWAY_PINNED_SHA256: %q is not GOOS_GOARCH=<sha256 hex>", kv)
		}
		p.SHA256[k] = h
	}
	return p, p.check()
}

// Write returns actionYML with its pins replaced by p (an empty Pins
// clears them).
func Write(actionYML []byte, p Pins) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	for _, re := range []*regexp.Regexp{versionLine, sumsLine} {
		if n := len(re.FindAllIndex(actionYML, -1)); n != 1 {
			return nil, fmt.Errorf("action.yml: want exactly one %s line, found %d", strings.Fields(re.String())[0], n)
		}
	}
	keys := make([]string, 0, len(p.SHA256))
	for k := range p.SHA256 {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sums := make([]string, 0, len(keys))
	for _, k := range keys {
		sums = append(sums, k+"="+p.SHA256[k])
	}
	out := versionLine.ReplaceAll(actionYML, []byte("${1} "+strconv.Quote(p.Version)))
	out = sumsLine.ReplaceAll(out, []byte("${1} "+strconv.Quote(strings.Join(sums, " "))))
	return out, nil
}

func (p Pins) check() error {
	if p.Version == "" {
		if len(p.SHA256) > 0 {
			return fmt.Errorf("action.yml: RUNWAY_PINNED_SHA256 is set but RUNWAY_PINNED_VERSION is empty")
		}
		return nil
	}
	if !tagRE.MatchString(p.Version) {
		return fmt.Errorf("action.yml: RUNWAY_PINNED_VERSION %q is not a release tag (vMAJOR.MINOR.PATCH)", p.Version)
	}
	if len(p.SHA256) == 0 {
		return fmt.Errorf("action.yml: RUNWAY_PINNED_VERSION is %s but RUNWAY_PINNED_SHA256 pins no binary", p.Version)
	}
	for k, h := range p.SHA256 {
		if !keyRE.MatchString(k) {
			return fmt.Errorf("action.yml: RUNWAY_PINNED_SHA256: %q is not a released platform (linux or darwin, amd64 or arm64)", k)
		}
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 || strings.ToLower(h) != h {
			return fmt.Errorf("action.yml: RUNWAY_PINNED_SHA256: %s=%q is not a lowercase hex sha256", k, h)
		}
	}
	return nil
}

// field returns the unquoted value of the one line re matches.
func field(b []byte, re *regexp.Regexp, name string) (string, error) {
	m := re.FindAllSubmatch(b, -1)
	if len(m) != 1 {
		return "", fmt.Errorf("action.yml: want exactly one %s line, found %d", name, len(m))
	}
	raw := strings.TrimSpace(string(m[0][2]))
	if raw == "" {
		return "", nil
	}
	if strings.HasPrefix(raw, "'") {
		return "", fmt.Errorf("action.yml: %s: write it in double quotes", name)
	}
	if strings.HasPrefix(raw, `"`) {
		v, err := strconv.Unquote(raw)
		if err != nil {
			return "", fmt.Errorf("action.yml: %s: %s is not a quoted string: %w", name, raw, err)
		}
		return v, nil
	}
	return raw, nil
}
