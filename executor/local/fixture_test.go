package local_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/registrar"
)

const domain = "development"

// fixture is a registered project in a layout store with an engine on the
// local runner whose exec-task processes are counted.
type fixture struct {
	t        testing.TB
	dir      string
	store    store.Store
	layout   *layout.Store
	project  string
	version  string
	bundle   string
	count    string
	work     string
	runner   *local.Runner
	engine   *executor.Engine
	storeDir string
}

type fixtureOpt struct {
	runnerOpts []local.Option
	engineOpts []executor.Option
	wrap       func(store.Store) store.Store
}

// newFixture registers the runway.yaml project in src (a directory) or, when
// files is not nil, the files given, into a fresh layout store.
func newFixture(t testing.TB, src string, files map[string]string, fo fixtureOpt) *fixture {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	f := &fixture{t: t, dir: filepath.Join(root, "repo"), count: filepath.Join(root, "exec-count"), work: filepath.Join(root, "work"), storeDir: filepath.Join(root, "store")}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if src != "" {
		testenv.CopyTree(t, src, f.dir)
	}
	for name, body := range files {
		p := filepath.Join(f.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sha := testenv.GitCommitAll(t, f.dir)
	ls, err := layout.New(f.storeDir, layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	f.layout, f.store = ls, ls
	if fo.wrap != nil {
		f.store = fo.wrap(ls)
	}
	sp, err := spec.Load(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.project = sp.Project
	b, err := fastreg.Build(ctx, f.dir, fastreg.WithExclude(sp.Bundle.Exclude...))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := fastreg.Push(context.Background(), ls, sp.Project, b); err != nil {
		t.Fatal(err)
	}
	f.bundle = b.Digest.String()
	ents, err := registrar.Compile(ctx, sp, registrar.Build{Version: sha, Bundle: f.bundle}, registrar.CompileOptions{Domain: domain, Store: ls})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&registrar.Registrar{Store: ls}).Register(ctx, domain, ents); err != nil {
		t.Fatal(err)
	}
	f.version = sha
	ropts := append([]local.Option{
		local.WithExecTask(os.Args[0], "exec-task"),
		local.WithEnv(envCount + "=" + f.count),
		local.WithWorkDir(f.work),
		local.WithGrace(2 * time.Second),
	}, fo.runnerOpts...)
	f.runner, err = local.New(ls.String(), ropts...)
	if err != nil {
		t.Fatal(err)
	}
	eopts := append([]executor.Option{executor.WithBackoff(10*time.Millisecond, 100*time.Millisecond), executor.WithParallelism(4),
		executor.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))}, fo.engineOpts...)
	f.engine, err = executor.New(f.store, f.runner, eopts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// putBundleLayer stores arbitrary layer bytes as the bundle with the given
// identity, in fastreg's artifact format: the tampered-bundle test uses it.
func putBundleLayer(t testing.TB, s store.Store, project string, identity, layer v1.Hash, size int64, r interface{ Read([]byte) (int, error) }) {
	t.Helper()
	ctx := context.Background()
	repo := store.BundleRepo(project)
	if err := s.PutBlob(ctx, repo, layer, size, r); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBlobBytes(ctx, s, repo, store.EmptyJSON); err != nil {
		t.Fatal(err)
	}
	m := store.Manifest{
		SchemaVersion: 2, MediaType: store.MediaTypeOCIManifest, ArtifactType: fastreg.ArtifactType,
		Config: v1.Descriptor{MediaType: types.MediaType(store.MediaTypeEmptyJSON), Size: 2, Digest: store.Digest(store.EmptyJSON)},
		Layers: []v1.Descriptor{{MediaType: fastreg.LayerMediaType, Size: size, Digest: layer}},
	}
	raw, _ := json.Marshal(m)
	if _, err := s.PutManifest(ctx, repo, store.BundleTag(identity.Hex), store.MediaTypeOCIManifest, raw); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) id(kind registrar.Kind, name string) registrar.ID {
	return registrar.ID{Project: f.project, Domain: domain, Kind: kind, Name: name, Version: f.version}
}

// run runs a target and fails the test if runway itself fails.
func (f *fixture) run(ctx context.Context, kind registrar.Kind, name string, inputs map[string]any) *executor.Execution {
	f.t.Helper()
	ex, err := f.engine.Run(ctx, executor.Request{Target: f.id(kind, name), Inputs: inputs}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return ex
}

func (f *fixture) starts() int { return countStarts(f.t, f.count) }

func mustNode(t testing.TB, ex *executor.Execution, id string) *executor.NodeRecord {
	t.Helper()
	n := ex.Node(id)
	if n == nil {
		t.Fatalf("execution %s has no node %q", ex.ID, id)
	}
	return n
}

func v1NewHash(s string) (v1.Hash, error) { return v1.NewHash(s) }

// runWithBundle registers task name again, under a new version whose task
// points at bundle (a digest), and runs it.
func (f *fixture) runWithBundle(ctx context.Context, name, bundle string) *executor.Execution {
	f.t.Helper()
	st, err := registrar.Get(ctx, f.layout, f.id(registrar.KindTask, name))
	if err != nil {
		f.t.Fatal(err)
	}
	e := *st.Entity
	task := *e.Task
	task.Bundle, e.Task, e.Version = bundle, &task, "other-bundle"
	if _, err := (&registrar.Registrar{Store: f.layout}).Register(ctx, domain, []*registrar.Entity{&e}); err != nil {
		f.t.Fatal(err)
	}
	id := f.id(registrar.KindTask, name)
	id.Version = e.Version
	ex, err := f.engine.Run(ctx, executor.Request{Target: id}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return ex
}
