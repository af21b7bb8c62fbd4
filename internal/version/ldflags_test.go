package version

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// LDFlags are the linker flags release builds set; goreleaser, action.yml
// and the README write the same two -X flags (this test fails if the
// variables they name are renamed).
func ldflags(v, c string) string {
	const pkg = "github.com/runway-ci/runway/internal/version"
	return "-X " + pkg + ".version=" + v + " -X " + pkg + ".commit=" + c
}

func TestLinkerFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	const commit = "89abcdef0123456789abcdef0123456789abcdef"
	bin := filepath.Join(t.TempDir(), "printversion")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags("v1.2.3", commit), "-o", bin, "./testdata/printversion")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Info      Info
		UserAgent string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Info.Version != "v1.2.3" || got.Info.Commit != commit {
		t.Errorf("a build with the release ldflags reports %+v, want v1.2.3 at %s", got.Info, commit)
	}
	if want := "runway/v1.2.3 (89abcdef0123; " + got.Info.OS + "/" + got.Info.Arch + ")"; got.UserAgent != want {
		t.Errorf("User-Agent %q, want %q", got.UserAgent, want)
	}
}
