package flow

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
)

// refusingStore is a registry that refuses every delete, as registries
// with deletes disabled do.
type refusingStore struct{ store.Store }

func (refusingStore) DeleteTag(ctx context.Context, repo, tag string) error {
	return errors.New("DELETE: 405 Method Not Allowed: UNSUPPORTED (deletes are disabled on this registry)")
}

// TestRemoveDomainRefusedDeletesAreRecorded: where the registry refuses
// deletes, RemoveDomain says so (Refused) and the removal record keeps it.
func TestRemoveDomainRefusedDeletesAreRecorded(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	plat, err := platform.Parse("platform.yaml", []byte("prDomains: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := gitRepo(t)
	if _, err := PR(ctx, NewProject(s, plat, nil), PRRequest{Repo: dir, Domain: "pr-5", Head: "HEAD"}); err != nil {
		t.Fatal(err)
	}
	rep, err := RemoveDomain(ctx, NewProject(refusingStore{s}, plat, nil), RemoveRequest{Project: "house-prices", Domain: "pr-5", Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Refused) != 6 || len(rep.Removed) != 0 || !strings.Contains(rep.Refused[0].Error, "405") {
		t.Fatalf("refused %d, removed %d: %+v", len(rep.Refused), len(rep.Removed), rep.Refused)
	}
	recs, err := readRemovals(ctx, s, "house-prices")
	if err != nil || len(recs) != 1 || len(recs[0].Refused) != 6 || len(recs[0].Code) == 0 {
		t.Fatalf("removal records %+v: %v", recs, err)
	}
}
