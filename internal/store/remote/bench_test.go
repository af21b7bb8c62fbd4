package remote_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
)

// BenchmarkPutArtifact1000 writes 1,000 small distinct artifacts (a ~1 KiB
// JSON layer each, distinct repositories and tags), 8 at a time, into the
// in-process registry. One op is the whole 1,000.
func BenchmarkPutArtifact1000(b *testing.B) {
	ctx := context.Background()
	pad := strings.Repeat("x", 1000)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reg := storetest.NewRegistry(b)
		s, err := remote.New(reg.Host + "/runway")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for j := range 1000 {
			g.Go(func() error {
				a := store.Artifact{
					ArtifactType: "application/vnd.runway.entity.v1+json",
					Layers: []store.Blob{{
						MediaType: "application/vnd.runway.entity.v1+json",
						Data:      []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, j, pad)),
					}},
				}
				repo := store.EntityRepo("fraud", "development", "task", fmt.Sprintf("t%d", j))
				_, err := store.PutArtifact(gctx, s, repo, fmt.Sprintf("v%04d", j), a)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}
