package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGCRemovesAPRDomain: a registration into pr-3 (prDomains enabled,
// the first domain's ceilings) is listed by gc, removed by --remove, and
// production is refused as not a PR's domain.
func TestGCRemovesAPRDomain(t *testing.T) {
	home, repo := t.TempDir(), sampleRepo(t)
	plat := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(plat, []byte("prDomains: {enabled: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, home, "register", "--repo", repo, "--platform", plat, "--domain", "pr-3"); r.code != 0 {
		t.Fatalf("register into pr-3: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r := run(t, home, "gc", "--repo", repo, "--platform", plat, "--dry-run")
	if r.code != 0 || !strings.Contains(r.out, "kept    pr-3") {
		t.Fatalf("gc --dry-run: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = run(t, home, "gc", "--repo", repo, "--platform", plat, "--remove", "pr-3")
	if r.code != 0 || !strings.Contains(r.out, "removed domain pr-3") {
		t.Fatalf("gc --remove pr-3: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r = run(t, home, "list", "tasks", "--repo", repo, "--platform", plat, "--domain", "pr-3", "-o", "json"); strings.Contains(r.out, "prepare") {
		t.Errorf("pr-3 still lists tasks:\n%s", r.out)
	}
	if r = run(t, home, "gc", "--repo", repo, "--platform", plat, "--remove", "production"); r.code != ExitUsage {
		t.Errorf("gc --remove production: exit %d, want %d\n%s", r.code, ExitUsage, r.err)
	}
}
