package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildStatic builds the Go package pkg (an import path or a ./relative
// path) inside module directory dir with CGO_ENABLED=0, into a file under
// the test's temp dir, and returns its path. The result runs in any Linux
// image, busybox included.
func BuildStatic(tb testing.TB, dir, pkg string) string {
	tb.Helper()
	goBin := RequireProgram(tb, "go", "golang (the Go toolchain)")
	out := filepath.Join(tb.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
	return out
}

// VersionProgram builds a tiny static Go program that prints
// "runway version <version>" when its first argument is "version" and
// exits 2 otherwise, into the test's temp dir. Tests use it in place of the
// runway CLI where only a real, runnable, static binary matters.
func VersionProgram(tb testing.TB, version string) string {
	tb.Helper()
	RequireProgram(tb, "go", "golang (the Go toolchain)")
	p, err := BuildVersionProgram(tb.TempDir(), version)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BuildVersionProgram is VersionProgram for TestMain, which has no
// testing.TB: it builds into dir and returns the binary's path.
func BuildVersionProgram(dir, version string) (string, error) {
	src := `package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("runway version " + version)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: runway version")
	os.Exit(2)
}
`
	files := map[string]string{
		"go.mod":  "module example.com/runwayversion\n\ngo 1.22\n",
		"main.go": src,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return "", fmt.Errorf("writing %s: %w", name, err)
		}
	}
	out := filepath.Join(dir, "runway")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the version program (go must be installed): %w\n%s", err, b)
	}
	return out, nil
}
