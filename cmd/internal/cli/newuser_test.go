package cli

// Tests for the defects a new user hit following the README (issue 17).
// Each one failed before its fix.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Item 1: register --version X packages the code like a commit does.
func TestRegisterExplicitVersionCarriesImageAndBundle(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	if r := run(t, home, "register", "--repo", repo, "--version", "x1"); r.code != 0 {
		t.Fatalf("register: exit %d: %s", r.code, r.err)
	}
	r := run(t, home, "get", "task", "fit", "--version", "x1", "--project", "house-prices", "-o", "json")
	if r.code != 0 {
		t.Fatalf("get: exit %d: %s", r.code, r.err)
	}
	if !strings.Contains(r.out, `"image"`) || !strings.Contains(r.out, `"bundle": "sha256:`) {
		t.Fatalf("task fit@x1 has no image or bundle:\n%s", r.out)
	}
}

// Item 3: a strict-decoding error does not hide the semantic ones.
func TestValidateReportsDecodeAndSemanticErrorsTogether(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	b, err := os.ReadFile("../../../registrar/testdata/allatonce/runway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runway.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, home, "validate", "--repo", dir, "-o", "json")
	var rep struct {
		Valid  bool
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("%v: %s %s", err, r.out, r.err)
	}
	if r.code != ExitInvalid || rep.Valid || len(rep.Errors) != 7 {
		t.Fatalf("exit %d, %d errors, want 7 at once: %+v", r.code, len(rep.Errors), rep.Errors)
	}
}
