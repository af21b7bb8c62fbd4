package registrar

import (
	"context"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/version"
)

// TestRegistrationRecordsRunwayVersion: the registration record of every
// entity names the runway that registered it (the manifest itself stays
// byte-identical whoever registers it, see record.go).
func TestRegistrationRecordsRunwayVersion(t *testing.T) {
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			sha := strings.Repeat("7", 40)
			res, err := (&Registrar{Store: s}).Register(ctx, "development", sampleEntities(t, sha))
			if err != nil {
				t.Fatal(err)
			}
			if len(res) == 0 {
				t.Fatal("nothing registered")
			}
			for _, r := range res {
				_, desc, err := s.GetManifest(ctx, r.ID.Repo(), sha)
				if err != nil {
					t.Fatal(err)
				}
				recs, err := s.Referrers(ctx, r.ID.Repo(), desc.Digest, ArtifactTypeRegistration)
				if err != nil || len(recs) != 1 {
					t.Fatalf("%s: %d registration records (%v), want 1", r.ID, len(recs), err)
				}
				m, _, err := store.GetArtifact(ctx, s, r.ID.Repo(), recs[0].Digest.String())
				if err != nil {
					t.Fatal(err)
				}
				if got := m.Annotations[store.AnnotationRunwayVersion]; got != version.String() {
					t.Errorf("%s: registration record says runway %q, want %q", r.ID, got, version.String())
				}
			}
		})
	}
}
