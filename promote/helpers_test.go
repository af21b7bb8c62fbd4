package promote_test

import (
	"context"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runway-ci/runway"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

const project = "house-prices"

// sampleRepo copies the sample pipeline (testdata/sample) into a new git
// repository and commits it.
func sampleRepo(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	err := runway.WriteSample(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := git.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	return dir, commitAll(t, dir, "sample pipeline")
}

// commitAll commits every change in dir and returns the commit SHA.
func commitAll(t testing.TB, dir, msg string) string {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "test", Email: "test@runway.invalid", When: time.Now()}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// registered is what register wrote.
type registered struct {
	Version  string
	Bundle   string
	Entities []registrar.Result
}

// register registers the repository at its HEAD into domain with a real
// code bundle (fastreg), as `runway register` does, through the domain
// packages alone (promote's tests sit below the flow).
func register(t testing.TB, s store.Store, dir, domain string) *registered {
	t.Helper()
	ctx := context.Background()
	fail := func(err error) { t.Fatalf("registering %s into %s: %v", dir, domain, err) }
	sp, err := spec.Load(dir)
	if err != nil {
		fail(err)
	}
	v, err := registrar.ResolveCommit(dir, "HEAD")
	if err != nil {
		fail(err)
	}
	b, err := fastreg.Build(ctx, dir, fastreg.WithRevision(v.Commit), fastreg.WithExclude(sp.Bundle.Exclude...))
	if err != nil {
		fail(err)
	}
	defer b.Close()
	if _, err := fastreg.Push(ctx, s, sp.Project, b); err != nil {
		fail(err)
	}
	ents, err := registrar.Compile(ctx, sp, registrar.Build{Version: v.Version, Bundle: b.Digest.String()}, registrar.CompileOptions{Platform: platform.Default(), Domain: domain, Store: s})
	if err != nil {
		fail(err)
	}
	res, err := (&registrar.Registrar{Store: s}).Register(ctx, domain, ents)
	if err != nil {
		fail(err)
	}
	return &registered{Version: v.Version, Bundle: b.Digest.String(), Entities: res}
}

// registryStore is a remote store on a fresh counting in-process registry.
func registryStore(t testing.TB, opts ...storetest.RegistryOption) (*storetest.Registry, store.Store) {
	t.Helper()
	reg := storetest.NewRegistry(t, opts...)
	s, err := remote.New(reg.Host+"/runway", remote.WithRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	publishOpenPolicy(t, s)
	return reg, s
}

// publishOpenPolicy publishes the embedded default platform config (three
// domains, no rules) into a registry store, which is otherwise closed at
// production (published.go). Tests about the closed default use a store
// without it.
func publishOpenPolicy(t testing.TB, s store.Store) {
	t.Helper()
	if _, err := promote.PublishPlatform(context.Background(), s, "open.yaml", []byte("promotion: {onMerge: staging}\n"), time.Now()); err != nil {
		t.Fatal(err)
	}
}

func layoutStore(t testing.TB) store.Store {
	t.Helper()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newPromoter(t testing.TB, s store.Store, plat *platform.Config, opts ...promote.Option) *promote.Promoter {
	t.Helper()
	if plat == nil {
		plat = platform.Default()
	}
	p, err := promote.New(s, plat, append([]promote.Option{promote.WithRunwayVersion("test")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parsePlatform(t testing.TB, y string) *platform.Config {
	t.Helper()
	c, err := platform.Parse("platform.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// storeCase is one backend the tests run on.
type storeCase struct {
	name string
	open func(t testing.TB) (store.Store, *storetest.Registry)
}

var stores = []storeCase{
	{"layout", func(t testing.TB) (store.Store, *storetest.Registry) { return layoutStore(t), nil }},
	{"registry", func(t testing.TB) (store.Store, *storetest.Registry) { r, s := registryStore(t); return s, r }},
	{"registry-referrers-api", func(t testing.TB) (store.Store, *storetest.Registry) {
		r, s := registryStore(t, storetest.WithReferrersAPI())
		return s, r
	}},
}

func layoutAt(t testing.TB, dir string) store.Store {
	t.Helper()
	s, err := layout.New(dir, layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
