package prbot

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./prbot -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the rendering (go test ./prbot -run %s -update to accept):\n%s", p, t.Name(), got)
	}
}

func hash(t *testing.T, c byte) v1.Hash {
	h, err := v1.NewHash("sha256:" + strings.Repeat(string(c), 64))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sampleView(t *testing.T) *prView {
	head, base := strings.Repeat("a", 40), strings.Repeat("b", 40)
	id := func(k registrar.Kind, n string) registrar.ID {
		return registrar.ID{Project: "house-prices", Domain: "development", Kind: k, Name: n, Version: head}
	}
	return &prView{
		Repo: "octo/pipes", Number: "2", Title: "<img src=x> @octo/admins", Head: head, Base: base,
		HeadRef: "feature/`rm -rf`|x", Domain: "development", RunURL: "https://github.com/octo/pipes/actions/runs/1",
		Report: &PRReport{
			Plan: &plan.Result{Decision: plan.Bundle, Changed: make([]plan.ChangedPath, 3), Reasons: []plan.Reason{
				{Path: "README.md", Rule: "default exclude: **/*.md", Effect: plan.None},
				{Path: "pipeline/train.py", Rule: "in the bundle", Effect: plan.Bundle},
				{Path: "data/[x](https://evil)|<b>.csv", Rule: "bundle.exclude: data/**", Effect: plan.None},
			}},
			Package: &flow.PackageReport{
				Image:  flow.ImageReport{Ref: "registry.example/house-prices/image@sha256:" + strings.Repeat("c", 64), Reused: true},
				Bundle: flow.BundleReport{Digest: "sha256:" + strings.Repeat("d", 64), Size: 12345, Files: 9, Uploaded: true},
			},
			Register: &flow.RegisterReport{Project: "house-prices", Domain: "development", Version: head, Entities: []registrar.Result{
				{ID: id(registrar.KindTask, "prepare"), Digest: hash(t, 'e'), Status: registrar.StatusCreated},
				{ID: id(registrar.KindWorkflow, "train"), Digest: hash(t, 'f'), Status: registrar.StatusUnchanged},
			}},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	v := sampleView(t)
	golden(t, "pr-comment.md", renderPR(v, true))
	golden(t, "pr-summary.md", renderPR(v, false))

	fork := sampleView(t)
	fork.Report = &PRReport{Plan: fork.Report.Plan}
	fork.ValidateOnly, fork.Fork, fork.RegistrationMissing = true, true, true
	golden(t, "pr-fork.md", renderPR(fork, false))

	failed := sampleView(t)
	failed.Err = errors.New("runway.yaml:12: task \"fit\": resources.limits.gpu: unknown resource\n```\n<script>")
	golden(t, "pr-failed.md", renderPR(failed, true))

	rep := &promote.Report{Project: "house-prices", From: "development", To: "staging", Version: strings.Repeat("a", 40), Actor: "octocat",
		Entities: []promote.Result{{ID: registrar.ID{Kind: registrar.KindWorkflow, Name: "train", Domain: "staging"}, Manifest: hash(t, '1'), Status: promote.StatusPromoted}}}
	golden(t, "promotion.md", renderPromotion(rep, nil, ""))
	golden(t, "merge.md", renderPromotion(rep, &flow.MergeReport{Path: flow.MergePromoteHead, Reason: "the trees are equal"}, "https://github.com/octo/pipes/actions/runs/1"))
	golden(t, "refusal-policy.md", renderPolicyRefusal("mallory", "/runway promote production", &promote.PolicyError{From: "staging", To: "production", Version: strings.Repeat("a", 40),
		Violations: []promote.Violation{{Rule: "promotion.rules[to=production].actors", Reason: "mallory is not allowed", Satisfy: "ask one of @octo/release"}}}))
}

// TestRenderAgainstGolden: the sticky comment's section on what production
// would get (flow.Against's report): a changed task over production's
// ceiling, a changed cron, a cache key change and missing evidence.
func TestRenderAgainstGolden(t *testing.T) {
	v := sampleView(t)
	prod := strings.Repeat("9", 40)
	fires := func(h int) []time.Time {
		var ts []time.Time
		for d := 1; d <= 3; d++ {
			ts = append(ts, time.Date(2026, 12, d, h, 30, 0, 0, time.UTC))
		}
		return ts
	}
	v.Against = &flow.AgainstReport{Project: "house-prices", Against: "production", Version: v.Head, Compared: []string{prod},
		Notes: []string{"production runs 999999999999, which this branch does not contain (the base moved on since the branch was cut)"},
		Entities: []flow.EntityChange{
			{Kind: registrar.KindTask, Name: "fit", Change: flow.ChangeChanged, Compared: prod, Via: "active launch plan nightly",
				Fields:    []string{`task.resources.requests.cpu: "250m" -> "3"`},
				CacheKey:  &flow.CacheKeyChange{Before: "aaaa", After: "aaaa"},
				Resources: []registrar.Excess{{Field: "requests.cpu", Amount: "3", Max: "2", Bound: registrar.BoundCeiling, Key: "cpu"}}},
			{Kind: registrar.KindTask, Name: "evaluate", Change: flow.ChangeChanged, Compared: prod, Via: "active launch plan nightly",
				Fields: []string{`task.cache.version: "1" -> "2"`}, CacheKey: &flow.CacheKeyChange{Before: "aaaa", After: "bbbb", Changed: true}},
			{Kind: registrar.KindTask, Name: "report", Change: flow.ChangeAdded},
			{Kind: registrar.KindLaunchPlan, Name: "nightly", Change: flow.ChangeChanged, Compared: prod, Via: "active",
				Fields:   []string{`launchplan.schedule: "0 3 * * *" -> "30 4 * * *"`},
				Schedule: &flow.ScheduleChange{Before: "0 3 * * *", After: "30 4 * * *", AfterFires: fires(4)}},
		},
		Policy: &promote.PolicyPreview{From: "staging", To: "production", Rule: "promotion.rules[to=production]", Actors: []string{"@ml-platform"},
			Missing: []promote.Violation{{Rule: "promotion.rules[to=production].approvals", Reason: "0 approval(s) not by the author alice, 1 needed", Satisfy: "1 more approval(s) from someone other than alice"}}},
	}
	golden(t, "pr-against.md", renderPR(v, true))
}

func TestRenderNeverLeaksMarkup(t *testing.T) {
	out := renderPR(sampleView(t), true)
	for _, bad := range []string{"<img", "[x](https", "@octo/admins", "`rm -rf`"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered comment holds %q", bad)
		}
	}
	if strings.Count(out, StickyMarker) != 1 || !strings.HasPrefix(out, StickyMarker) {
		t.Error("the sticky marker must appear once, at the start")
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxCommentBytes)
	got := clip(long)
	if len(got) > maxCommentBytes || !strings.HasSuffix(got, "job summary)\n") {
		t.Errorf("clip: %d bytes", len(got))
	}
	if !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Error("clip split a UTF-8 sequence")
	}
}
