package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/version"
)

// TestVersionFlag: `runway --version` is what a new user types first; it
// used to exit 2 (unknown flag). It prints the same line as `runway version`.
func TestVersionFlag(t *testing.T) {
	home := t.TempDir()
	flag := run(t, home, "--version")
	if flag.code != 0 {
		t.Fatalf("runway --version: exit %d, want 0\n%s%s", flag.code, flag.out, flag.err)
	}
	cmd := run(t, home, "version")
	if cmd.code != 0 || flag.out != cmd.out || !strings.HasPrefix(flag.out, "runway "+version.String()) {
		t.Errorf("runway --version printed %q, runway version %q (exit %d); want the same line, starting runway %s", flag.out, cmd.out, cmd.code, version.String())
	}
	// Subcommands keep their own --version flag (the entity version).
	if r := run(t, home, "get", "--help"); !strings.Contains(r.out, "--version") {
		t.Errorf("get --help lost its --version flag:\n%s", r.out)
	}
}

func TestVersionJSON(t *testing.T) {
	r := run(t, t.TempDir(), "version", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, r.out)
	}
	want := version.Get()
	if got["version"] != want.Version || got["go"] != want.Go || got["os"] != want.OS || got["arch"] != want.Arch {
		t.Errorf("version -o json = %v, want %+v", got, want)
	}
	if want.Commit != "" && got["commit"] != want.Commit {
		t.Errorf("commit = %v, want %s", got["commit"], want.Commit)
	}
}
