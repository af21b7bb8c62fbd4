package registrar

import (
	"context"
	"testing"
	"time"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/testkit/gittest"
)

// Identical content gives identical manifest bytes whoever registers it and
// whenever (issue 16): the created annotation is the commit time, and the
// registration time goes into a registration record.
func TestManifestsAreReproducible(t *testing.T) {
	g := gittest.New(t)
	g.Write("runway.yaml", "project: p\n")
	sha := g.Commit("first")
	v, err := ResolveCommit(g.Dir, sha)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1700000001, 0).UTC(); !v.Time.Equal(want) {
		t.Fatalf("commit time %s, want %s", v.Time, want)
	}
	if d, err := DetectVersion(g.Dir, "", nil); err != nil || !d.Time.Equal(v.Time) {
		t.Fatalf("DetectVersion: %+v %v", d, err)
	}
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var raws [][]byte
			regTimes := []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC)}
			for _, at := range regTimes {
				s := newStore(t)
				r := &Registrar{Store: s, Now: func() time.Time { return at }} // Created from ResolveCommit's memo
				if _, err := r.Register(ctx, "development", sampleEntities(t, sha)); err != nil {
					t.Fatal(err)
				}
				id := ID{Project: "house-prices", Domain: "development", Kind: KindTask, Name: "prepare", Version: sha}
				raw, desc, err := s.GetManifest(ctx, id.Repo(), sha)
				if err != nil {
					t.Fatal(err)
				}
				raws = append(raws, raw)
				m, _, _ := store.GetArtifact(ctx, s, id.Repo(), sha)
				if got := m.Annotations[store.AnnotationCreated]; got != "2023-11-14T22:13:21Z" {
					t.Fatalf("created annotation %q, want the commit time", got)
				}
				got, ok, err := RegisteredAt(ctx, s, id.Repo(), desc.Digest)
				if err != nil || !ok || !got.Equal(at) {
					t.Fatalf("registration record: %s %v %v, want %s", got, ok, err, at)
				}
				// Registering again writes no second record.
				if _, err := r.Register(ctx, "development", sampleEntities(t, sha)); err != nil {
					t.Fatal(err)
				}
				descs, err := s.Referrers(ctx, id.Repo(), desc.Digest, ArtifactTypeRegistration)
				if err != nil || len(descs) != 1 {
					t.Fatalf("registration records after a second registration: %d %v", len(descs), err)
				}
			}
			if string(raws[0]) != string(raws[1]) {
				t.Fatalf("identical content, different manifests:\n%s\n%s", raws[0], raws[1])
			}
		})
	}
}
