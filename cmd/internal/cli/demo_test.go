package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoEndToEnd is the README's first command: register the sample and
// run its workflow on the embedded defaults; the second time every entity
// is unchanged and every node is a cache hit.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python tasks")
	}
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "demo")
	r := run(t, home, "demo", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"6 created", "succeeded", "r2=", "rmse="} {
		if !strings.Contains(r.out, want) {
			t.Errorf("first demo lacks %q:\n%s", want, r.out)
		}
	}
	// Again, in a new directory as a new user would: the commit is the same
	// (fixed author and time), so everything is unchanged and cached.
	r = run(t, home, "demo", "--dir", filepath.Join(t.TempDir(), "again"))
	if r.code != 0 || !strings.Contains(r.out, "0 created, 6 unchanged") || strings.Count(r.out, "cache hit") != 4 {
		t.Fatalf("second demo, exit %d:\n%s\n%s", r.code, r.out, r.err)
	}

	r = run(t, home, "list", "executions", "--repo", dir, "-o", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list) != 2 {
		t.Fatalf("list executions: %v %s %s", err, r.out, r.err)
	}
	id, _ := list[0]["id"].(string)
	r = run(t, home, "get", "execution", id, "--repo", dir, "-o", "json")
	var ex struct {
		ID, Status string
		Nodes      []struct {
			ID, Status, Cache string
			Attempts          int
			Outputs           map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.out), &ex); err != nil || ex.ID != id || ex.Status != "succeeded" || len(ex.Nodes) != 4 {
		t.Fatalf("get execution: %v %s %s", err, r.out, r.err)
	}
	for _, n := range ex.Nodes {
		if n.Cache != "hit" || n.Outputs == nil {
			t.Errorf("node %+v", n)
		}
	}

	// A wrong input is refused before anything runs, with exit code 3.
	r = run(t, home, "run", "workflow", "train", "--repo", dir, "-i", "rows=abc", "-i", "seed=1")
	if r.code != ExitInvalid || !strings.Contains(r.err, `"rows"`) {
		t.Errorf("bad input: exit %d %s", r.code, r.err)
	}
	// A failing run exits 5: rows below the task's minimum makes prepare fail.
	r = run(t, home, "run", "workflow", "train", "--repo", dir, "-i", "rows=3", "-i", "seed=1")
	if r.code != ExitFailed {
		t.Errorf("failing run: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}
