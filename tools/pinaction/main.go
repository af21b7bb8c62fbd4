// Command pinaction writes and checks the release pins in action.yml (see
// internal/actionpin): the runway version the Action downloads and the
// sha256 of each runway-core binary.
//
//	pinaction -version v1.2.3 -binary linux_amd64=PATH [-binary ...]   # write the pins
//	pinaction -clear                                                   # empty them
//	pinaction -check -target linux_amd64 -binary PATH                  # PATH must be the pinned binary
//
// .ci/release.sh runs the first when a maintainer cuts a release, and
// goreleaser runs the check after building each runway-core binary, so a
// release whose binaries differ from the pins is never published.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/runway-ci/runway/internal/actionpin"
)

type binaries map[string]string

func (b binaries) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binaries) Set(s string) error {
	k, p, ok := strings.Cut(s, "=")
	if !ok {
		if len(b) == 0 {
			b[""] = s // -check takes a bare PATH
			return nil
		}
		return fmt.Errorf("-binary %q: want GOOS_GOARCH=PATH", s)
	}
	b[k] = p
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pinaction: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("pinaction", flag.ContinueOnError)
	action := fs.String("action", "action.yml", "the action.yml to read or rewrite")
	version := fs.String("version", "", "the release tag to pin (vX.Y.Z)")
	clear := fs.Bool("clear", false, "empty the pins (the Action builds from source)")
	check := fs.Bool("check", false, "check that -binary is the binary pinned for -target")
	snapshot := fs.Bool("snapshot", false, "with -check: a snapshot build, which no pin describes; do nothing")
	target := fs.String("target", "", "with -check: GOOS_GOARCH of -binary")
	bins := binaries{}
	fs.Var(bins, "binary", "GOOS_GOARCH=PATH of a runway-core binary (repeat); with -check, PATH")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := os.ReadFile(*action)
	if err != nil {
		return err
	}
	switch {
	case *check:
		if *snapshot {
			return nil
		}
		pins, err := actionpin.Read(src)
		if err != nil {
			return err
		}
		path := bins[""]
		if path == "" {
			path = bins[*target]
		}
		if path == "" || *target == "" {
			return errors.New("-check needs -target GOOS_GOARCH and -binary PATH")
		}
		if pins.Version == "" {
			return fmt.Errorf("%s pins no release, so a release build of %s cannot be checked; run `bash .ci/release.sh pin vX.Y.Z` and tag that commit", *action, *target)
		}
		want, ok := pins.SHA256[*target]
		if !ok {
			return fmt.Errorf("%s pins no binary for %s", *action, *target)
		}
		got, err := sum(path)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s is not the binary %s pins for %s %s: sha256 %s, pinned %s (was it built with another Go toolchain or from another commit?)", path, *action, pins.Version, *target, got, want)
		}
		fmt.Fprintf(out, "%s: sha256 %s matches the pin for %s %s\n", path, got, pins.Version, *target)
		return nil
	case *clear:
		b, err := actionpin.Write(src, actionpin.Pins{})
		if err != nil {
			return err
		}
		return os.WriteFile(*action, b, 0o644)
	default:
		if *version == "" || len(bins) == 0 {
			return errors.New("want -version vX.Y.Z and one -binary GOOS_GOARCH=PATH per platform (or -clear, or -check)")
		}
		p := actionpin.Pins{Version: *version, SHA256: map[string]string{}}
		for k, path := range bins {
			if p.SHA256[k], err = sum(path); err != nil {
				return err
			}
		}
		b, err := actionpin.Write(src, p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*action, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s pins runway %s: %v\n", *action, *version, p.SHA256)
		return nil
	}
}

func sum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
