package action

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// TestPRDomainsEndToEnd (issue 14 §1): with prDomains enabled, two PRs
// run by the Action at once register into pr-1 and pr-2; closing #1
// removes pr-1 (tags, activation, a removal record); the gc then removes
// the bundle only pr-1 used and keeps everything pr-2 or production uses;
// once pr-2's TTL is over the gc removes pr-2 and still keeps production's.
func TestPRDomainsEndToEnd(t *testing.T) {
	ctx := context.Background()
	w, base := newWorld(t)
	platFile := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(platFile, []byte("prDomains: {enabled: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Load(platFile)
	if err != nil {
		t.Fatal(err)
	}
	proj := flow.NewProject(w.store(), plat, nil)

	// Production runs the base.
	if _, err := flow.PR(ctx, proj, flow.PRRequest{Repo: w.dir, Domain: "development", Head: base}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"staging", "production"} {
		if _, err := flow.Promote(ctx, proj, promote.Request{Project: project, To: to, Version: base}); err != nil {
			t.Fatal(err)
		}
	}

	// Two PRs, two checkouts, run at once.
	dir2 := t.TempDir()
	runGit(t, dir2, "clone", "-q", w.dir, ".")
	runGit(t, w.dir, "checkout", "-q", "-b", "one")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# PR one\n")
	h1 := commitAll(t, w.dir, "one")
	runGit(t, dir2, "checkout", "-q", "-b", "two")
	appendTo(t, filepath.Join(dir2, "pipeline", "evaluate.py"), "\n# PR two\n")
	h2 := commitAll(t, dir2, "two")
	heads := map[int]string{1: h1, 2: h2}
	dirs := map[int]string{1: w.dir, 2: dir2}
	for n, h := range heads {
		w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: n, User: exampleSender, HeadSHA: h, HeadRef: "b", BaseSHA: base, BaseRef: "master"})
	}
	var wg sync.WaitGroup
	results := map[int]result{}
	var mu sync.Mutex
	for n := range heads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := w.run("pull_request", prPayload(t, "opened", n, base, heads[n], ""), "ghs_write",
				map[string]string{"INPUT_PLATFORM-CONFIG": platFile, "GITHUB_WORKSPACE": dirs[n]})
			mu.Lock()
			results[n] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	for n, res := range results {
		if res.err != nil {
			t.Fatalf("PR %d: %v\n%s", n, res.err, res.commands)
		}
		var ents []map[string]string
		if err := json.Unmarshal([]byte(res.outputs["entities"]), &ents); err != nil || len(ents) != 6 {
			t.Fatalf("PR %d entities output %q: %v", n, res.outputs["entities"], err)
		}
		for _, e := range ents {
			if e["domain"] != "pr-"+itoa(n) || e["version"] != heads[n] {
				t.Errorf("PR %d registered %v", n, e)
			}
		}
	}
	for n, h := range heads {
		got := w.entities("pr-" + itoa(n))
		if len(got) != 6 {
			t.Fatalf("pr-%d holds %d entities, want 6", n, len(got))
		}
		for _, st := range got {
			if st.ID.Version != h {
				t.Errorf("pr-%d holds %s", n, st.ID)
			}
		}
	}
	if len(w.entities("development")) != 6 { // only the base, registered above
		t.Errorf("development holds PR registrations")
	}
	bundleOf := func(domain, version string) string {
		st, err := registrar.Get(ctx, w.store(), registrar.ID{Project: project, Domain: domain, Kind: registrar.KindTask, Name: "fit", Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return st.Entity.Task.Bundle
	}
	b1, b2, bProd := bundleOf("pr-1", h1), bundleOf("pr-2", h2), bundleOf("production", base)
	if b1 == b2 || b1 == bProd || b2 == bProd {
		t.Fatalf("bundles should differ: %s %s %s", b1, b2, bProd)
	}

	// Closing #1 (not merged) removes pr-1.
	closed := prPayload(t, "opened", 1, base, h1, "")
	set(t, closed, "action", "closed")
	set(t, closed, "pull_request.merged", false)
	res := w.run("pull_request", closed, "ghs_write", map[string]string{"INPUT_PLATFORM-CONFIG": platFile})
	if res.err != nil {
		t.Fatalf("closed: %v\n%s", res.err, res.commands)
	}
	if got := w.entities("pr-1"); len(got) != 0 {
		t.Errorf("pr-1 still holds %d entities after the PR closed", len(got))
	}
	repos, err := w.store().Repositories(ctx, store.DomainPrefix(project, "pr-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range repos {
		if tags, _ := w.store().Tags(ctx, r); len(tags) > 0 {
			t.Errorf("%s still has tags %v", r, tags)
		}
	}
	if tags, _ := w.store().Tags(ctx, store.RemovalRepo(project)); len(tags) != 1 || tags[0] != "pr-1" {
		t.Errorf("removal records %v, want pr-1's", tags)
	}
	if len(w.entities("pr-2")) != 6 || len(w.entities("production")) != 6 {
		t.Fatal("closing #1 touched another domain")
	}

	// The gc: pr-1's own bundle goes; pr-2's and production's stay.
	hasBundle := func(d string) bool {
		_, err := w.store().HeadManifest(ctx, store.BundleRepo(project), store.BundleTag(strings.TrimPrefix(d, "sha256:")))
		return err == nil
	}
	gc, err := flow.GC(ctx, proj, flow.GCRequest{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	if hasBundle(b1) || !hasBundle(b2) || !hasBundle(bProd) {
		t.Errorf("after gc: pr-1's bundle kept=%v, pr-2's=%v, production's=%v (want false, true, true); report %+v", hasBundle(b1), hasBundle(b2), hasBundle(bProd), gc)
	}
	if len(gc.Kept) != 1 || gc.Kept[0].Domain != "pr-2" || len(gc.Removed) != 0 {
		t.Errorf("gc domains: kept %+v removed %d", gc.Kept, len(gc.Removed))
	}
	img := func(domain, version string) string {
		st, err := registrar.Get(ctx, w.store(), registrar.ID{Project: project, Domain: domain, Kind: registrar.KindTask, Name: "fit", Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return st.Entity.Task.Image
	}
	prodImage := img("production", base)
	if _, err := w.store().HeadManifest(ctx, store.ImageRepo(project), prodImage[strings.LastIndex(prodImage, "@")+1:]); err != nil {
		t.Errorf("production's image is gone: %v", err)
	}

	// Eight days later pr-2 has expired: the gc removes it, production stays.
	gc, err = flow.GC(ctx, proj, flow.GCRequest{Project: project, Now: time.Now().Add(8 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(gc.Removed) != 1 || gc.Removed[0].Domain != "pr-2" || len(w.entities("pr-2")) != 0 {
		t.Errorf("expired pr-2 not removed: %+v", gc)
	}
	if hasBundle(b2) || !hasBundle(bProd) || len(w.entities("production")) != 6 {
		t.Errorf("after the TTL gc: pr-2's bundle kept=%v, production's=%v", hasBundle(b2), hasBundle(bProd))
	}
	if _, err := flow.RemoveDomain(ctx, proj, flow.RemoveRequest{Project: project, Domain: "production"}); err == nil {
		t.Error("removing production was not refused")
	}
}
