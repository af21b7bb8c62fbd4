package promote_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// TestPromoteSampleByDigest promotes the sample development -> staging ->
// production and shows that no blob byte is uploaded (counted at the
// registry), that production's digests equal development's, that promoting
// again changes nothing, and that history shows the chain.
func TestPromoteSampleByDigest(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s, reg := sc.open(t)
			dir, sha := sampleRepo(t)
			reg0 := register(t, s, dir, "development")
			if reg0.Bundle == "" {
				t.Fatal("registration has no bundle")
			}
			p := newPromoter(t, s, nil)
			if reg != nil {
				reg.ResetCounters()
			}
			for _, step := range [][2]string{{"development", "staging"}, {"staging", "production"}} {
				rep, err := p.Promote(ctx, promote.Request{Project: project, From: step[0], To: step[1], Version: sha,
					Actor: promote.Actor{Login: "alice"}, PR: &promote.PR{Number: 7, URL: "https://github.example/o/r/pull/7", Author: "bob"}})
				if err != nil {
					t.Fatalf("promoting %s -> %s: %v", step[0], step[1], err)
				}
				if n := rep.Counts()[promote.StatusPromoted]; n != len(reg0.Entities) {
					t.Fatalf("%s -> %s: %d promoted, want %d: %+v", step[0], step[1], n, len(reg0.Entities), rep.Entities)
				}
				if len(rep.Activations) != 1 || rep.Activations[0].Status != promote.ActivationActivated {
					t.Fatalf("launch plan not activated in %s: %+v", step[1], rep.Activations)
				}
			}
			if reg != nil {
				if got := reg.UploadedBytes(); got != 0 {
					t.Fatalf("promoting uploaded %d blob bytes, want 0 (requests: %v)", got, reg.Counts())
				}
				t.Logf("two promotions of %d entities: 0 blob bytes uploaded, %d requests", len(reg0.Entities), reg.TotalRequests())
			}
			for _, r := range reg0.Entities {
				dev, err := registrar.Get(ctx, s, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				r.ID.Domain = "production"
				prod, err := registrar.Get(ctx, s, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if dev.Digest != prod.Digest || dev.Manifest.Digest != prod.Manifest.Digest {
					t.Errorf("%s: production entity %s manifest %s, development %s / %s", r.ID.Name, prod.Digest, prod.Manifest.Digest, dev.Digest, dev.Manifest.Digest)
				}
			}
			// Again: nothing changes and no byte is uploaded.
			rep, err := p.Promote(ctx, promote.Request{Project: project, From: "staging", To: "production", Version: sha, Actor: promote.Actor{Login: "alice"}})
			if err != nil {
				t.Fatal(err)
			}
			if n := rep.Counts()[promote.StatusUnchanged]; n != len(reg0.Entities) {
				t.Fatalf("second promotion: %d unchanged of %d: %+v", n, len(reg0.Entities), rep.Entities)
			}
			if rep.Activations[0].Status != promote.ActivationUnchanged {
				t.Fatalf("second promotion re-activated: %+v", rep.Activations[0])
			}
			if reg != nil && reg.UploadedBytes() != 0 {
				t.Fatalf("second promotion uploaded %d bytes", reg.UploadedBytes())
			}

			h, err := p.History(ctx, project, registrar.KindLaunchPlan, "nightly", promote.HistoryOptions{Version: sha, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range h.Events {
				types = append(types, e.Type+"@"+e.Domain)
			}
			want := "registration@development promotion@staging activation@staging promotion@production activation@production"
			if got := strings.Join(types, " "); got != want {
				t.Errorf("history events:\n got %s\nwant %s", got, want)
			}
			v := h.Versions[0]
			if len(v.Bundles) != 1 || v.Bundles[0] != reg0.Bundle || v.Commit != sha || len(v.PRs) != 1 || v.PRs[0].Number != 7 {
				t.Errorf("history version: %+v", v)
			}
			if len(v.Domains) != 3 || v.Domains[2].Via != "promoted from staging" || !v.Domains[2].Active {
				t.Errorf("history domains: %+v", v.Domains)
			}
			if !h.Verify.OK() || h.Verify.Checked != 3 {
				t.Errorf("verify: %+v", h.Verify)
			}
		})
	}
}

func TestPromoteNamedEntityTakesItsReferences(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	dir, sha := sampleRepo(t)
	register(t, s, dir, "development")
	p := newPromoter(t, s, nil)
	rep, err := p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: sha,
		Entities: []promote.EntityName{{Kind: registrar.KindWorkflow, Name: "train"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep.Entities {
		got = append(got, string(e.ID.Kind)+"/"+e.ID.Name)
	}
	if want := "task/evaluate task/fit task/prepare task/profile workflow/train"; strings.Join(got, " ") != want {
		t.Fatalf("promoted %v, want %s", got, want)
	}
	if len(rep.Activations) != 0 {
		t.Fatalf("no launch plan was promoted, yet: %+v", rep.Activations)
	}
}

func TestPromoteBadInput(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	dir, sha := sampleRepo(t)
	register(t, s, dir, "development")
	p := newPromoter(t, s, nil)
	cases := []struct {
		name string
		req  promote.Request
		want string
		is   error
	}{
		{"no version", promote.Request{Project: project, From: "development", To: "staging"}, "no version", nil},
		{"unknown domain", promote.Request{Project: project, From: "development", To: "prod", Version: sha}, `to domain "prod" is not one of`, nil},
		{"same domain", promote.Request{Project: project, From: "staging", To: "staging", Version: sha}, "same domain", nil},
		{"unknown version", promote.Request{Project: project, From: "development", To: "staging", Version: "0123"}, "nothing of house-prices is registered at version 0123", store.ErrNotFound},
		{"unknown entity", promote.Request{Project: project, From: "development", To: "staging", Version: sha,
			Entities: []promote.EntityName{{Kind: registrar.KindTask, Name: "nope"}}}, "task/nope", store.ErrNotFound},
		{"into the first domain", promote.Request{Project: project, From: "staging", To: "development", Version: sha}, "first domain", promote.ErrNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Promote(ctx, c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v is not %v", err, c.is)
			}
		})
	}
	for _, in := range []string{"", "train", "workflow/", "widget/train", "task/a/b"} {
		if _, err := promote.ParseEntityName(in); err == nil {
			t.Errorf("ParseEntityName(%q) accepted", in)
		}
	}
	if n, err := promote.ParseEntityName("launchplans/nightly"); err != nil || n.Kind != registrar.KindLaunchPlan || n.Name != "nightly" {
		t.Errorf("ParseEntityName(launchplans/nightly) = %v, %v", n, err)
	}
}
