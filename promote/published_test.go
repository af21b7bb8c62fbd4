package promote_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/promote"
)

const strictPolicy = `promotion:
  rules:
    - {to: staging, from: [development]}
    - {to: production, from: [staging], actors: [alice]}
`

// The policy published in the store holds whatever config the caller
// passes: a promoter built from the embedded defaults (no --platform) still
// refuses mallory (issue 17, item 2).
func TestPublishedPolicyHoldsWithoutTheFlag(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := sc.open(t)
			dir, _ := sampleRepo(t)
			reg := register(t, s, dir, "development")
			if _, err := promote.PublishPlatform(ctx, s, "platform.yaml", []byte(strictPolicy), time.Now()); err != nil {
				t.Fatal(err)
			}
			p := newPromoter(t, s, nil) // what a caller without --platform gets
			req := func(from, to, actor string) promote.Request {
				return promote.Request{Project: project, From: from, To: to, Version: reg.Version, Actor: promote.Actor{Login: actor}}
			}
			if _, err := p.Promote(ctx, req("development", "staging", "mallory")); err != nil {
				t.Fatalf("to staging: %v", err)
			}
			_, err := p.Promote(ctx, req("staging", "production", "mallory"))
			if !errors.Is(err, promote.ErrNotAllowed) || !strings.Contains(err.Error(), "mallory is not allowed") {
				t.Fatalf("mallory to production: %v, want refused by the published rule", err)
			}
			// A permissive --platform file changes nothing either.
			open := newPromoter(t, s, parsePlatform(t, "promotion: {rules: [{to: production, actors: ['*']}]}\n"))
			if _, err := open.Promote(ctx, req("staging", "production", "mallory")); !errors.Is(err, promote.ErrNotAllowed) {
				t.Fatalf("mallory with a permissive --platform: %v, want refused", err)
			}
			if _, err := p.Promote(ctx, req("staging", "production", "alice")); err != nil {
				t.Fatalf("alice to production: %v", err)
			}
		})
	}
}

// A registry store with nothing published is closed at production, even
// for a caller whose --platform allows everyone; an on-disk store with
// nothing published takes the caller's config (the local demo).
func TestUnpublishedRegistryIsClosedAtProduction(t *testing.T) {
	ctx := context.Background()
	reg := storetest.NewRegistry(t)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := sampleRepo(t)
	r := register(t, s, dir, "development")
	p := newPromoter(t, s, parsePlatform(t, "promotion: {rules: [{to: production, actors: ['*']}]}\n"))
	req := promote.Request{Project: project, From: "development", To: "staging", Version: r.Version, Actor: promote.Actor{Login: "mallory"}}
	if _, err := p.Promote(ctx, req); err != nil {
		t.Fatalf("to staging: %v", err)
	}
	req.From, req.To = "staging", "production"
	_, err = p.Promote(ctx, req)
	if !errors.Is(err, promote.ErrNotAllowed) || !strings.Contains(err.Error(), "runway platform apply") {
		t.Fatalf("to production: %v, want refused, naming runway platform apply", err)
	}

	ls := layoutStore(t)
	r = register(t, ls, dir, "development")
	lp := newPromoter(t, ls, nil)
	for _, step := range [][2]string{{"development", "staging"}, {"staging", "production"}} {
		if _, err := lp.Promote(ctx, promote.Request{Project: project, From: step[0], To: step[1], Version: r.Version, Actor: promote.Actor{Login: "alice"}}); err != nil {
			t.Fatalf("on-disk store, %s -> %s: %v", step[0], step[1], err)
		}
	}
}

// An invalid config is refused before anything is written, naming the
// file and the field; a valid one reads back as published.
func TestPublishPlatformValidatesFirst(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	_, err := promote.PublishPlatform(ctx, s, "platform.yaml", []byte("promotion:\n  rules:\n    - {to: prod, checks: [ci]}\n"), time.Now())
	if err == nil || !strings.Contains(err.Error(), `platform.yaml: line 3: unknown field "checks"`) {
		t.Fatalf("got %v", err)
	}
	if tags, _ := s.Tags(ctx, store.PlatformRepo); len(tags) != 0 {
		t.Fatalf("a refused config left tags %v", tags)
	}
	if pub, err := promote.LoadPublished(ctx, s); pub != nil || err != nil {
		t.Fatalf("nothing published: %v %v", pub, err)
	}
	w, err := promote.PublishPlatform(ctx, s, "platform.yaml", []byte(strictPolicy), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := promote.LoadPublished(ctx, s)
	if err != nil || pub.Digest != w.Digest || string(pub.Raw) != strictPolicy || len(pub.Config.Promote.Rules) != 2 {
		t.Fatalf("read back %+v, %v", pub, err)
	}
}
