//go:build integration

package kubernetes

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/registrar"
)

// The integration tier runs against one real control plane per test
// binary (kubetest: etcd, kube-apiserver, kube-controller-manager) and
// one kubeletStandIn. The test binary doubles as runway: the stand-in
// runs pods' `runway exec-task` as `<test binary> exec-task`, and the
// restart test runs an engine in a child process it can kill -9.
var (
	cluster *kubetest.ControlPlane
	admin   k8s.Interface
	standIn *kubeletStandIn
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "exec-task" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		code := exectask.Main(ctx, os.Args[2:], os.Stdout, os.Stderr, exectask.WithOpener(openStore))
		stop()
		os.Exit(code)
	}
	flag.Parse()
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runway-kube-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	start := time.Now()
	cluster, err = kubetest.Start(ctx, filepath.Join(dir, "cluster"))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting the Kubernetes control plane:", err)
		return 1
	}
	defer cluster.Stop()
	fmt.Fprintf(os.Stderr, "control plane ready in %s\n", time.Since(start).Round(time.Millisecond))
	if admin, err = cluster.Client(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	standIn, err = newKubeletStandIn(context.Background(), admin, filepath.Join(dir, "node"), func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "kubelet stand-in: "+format+"\n", a...)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting the kubelet stand-in:", err)
		return 1
	}
	defer standIn.shutdown()
	return m.Run()
}

// openStore opens "file://DIR" stores, the only kind these tests use.
func openStore(_ context.Context, ref string) (store.Store, error) {
	dir, ok := strings.CutPrefix(ref, "file://")
	if !ok {
		return nil, fmt.Errorf("unsupported store %q", ref)
	}
	return layout.New(dir, layout.WithoutFsync())
}

const (
	domain = "development"
	// The image every test task names; the stand-in does not pull it.
	taskImage = "registry.invalid/kt/image@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

// smallProject is a project whose tasks use only sh.
var smallProject = map[string]string{
	"runway.yaml": `project: kt
tasks:
  - name: gate
    command: ["sh", "-c", "while [ ! -e '{{inputs.gate}}' ]; do sleep 0.05; done; echo {{inputs.n}} > \"$RUNWAY_OUTPUTS/n\""]
    inputs: {gate: string, n: int}
    outputs: {n: int}
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 200m, memory: 64Mi}}
  - name: big
    command: ["true"]
    resources: {limits: {cpu: 100m, memory: 512Mi}}
  - name: echo
    command: ["sh", "-c", "cat payload.txt > \"$RUNWAY_OUTPUTS/text\"; echo {{inputs.n}} > \"$RUNWAY_OUTPUTS/n\""]
    inputs: {n: int}
    outputs: {n: int, text: file}
    resources: {limits: {cpu: 100m, memory: 64Mi}}
    cache: {version: "1"}
workflows:
  - name: pair
    inputs: {gate: string}
    nodes:
      - {id: a, task: gate, inputs: {gate: "{{workflow.inputs.gate}}", n: 1}}
      - {id: b, task: gate, inputs: {gate: "{{workflow.inputs.gate}}", n: 2}}
`,
	"payload.txt": "from the bundle\n",
}

// testPlatform has one managed development domain; quota may be nil.
func testPlatform(manage bool, quota map[string]string) *platform.Config {
	c := platform.Default()
	c.Domains[0] = platform.Domain{
		Name: domain, ManageNamespace: manage, Quota: quota,
		Ceilings: map[string]string{"cpu": "2", "memory": "1Gi"},
		Defaults: platform.Resources{Limits: map[string]string{"cpu": "500m", "memory": "256Mi"}},
	}
	return c
}

// kfix is a registered project in a layout store with an engine on the
// Kubernetes runner.
type kfix struct {
	t        testing.TB
	storeDir string
	store    *layout.Store
	project  string
	version  string
	cfg      engineConfig
	runner   *Runner
	engine   *executor.Engine
	logs     *syncBuffer
}

// engineConfig is everything needed to build the same engine in this
// process or in a child process.
type engineConfig struct {
	Kubeconfig  string           `json:"kubeconfig"`
	Impersonate string           `json:"impersonate,omitempty"`
	StoreDir    string           `json:"storeDir"`
	Platform    *platform.Config `json:"platform"`
	NSTemplate  string           `json:"nsTemplate"`
}

func newKFix(t testing.TB, src string, files map[string]string, nsSuffix string, pc *platform.Config, impersonate string) *kfix {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	if src != "" {
		testenv.CopyTree(t, src, repo)
	}
	for name, body := range files {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sha := testenv.GitCommitAll(t, repo)
	f := &kfix{t: t, storeDir: filepath.Join(root, "store"), version: sha}
	ls, err := layout.New(f.storeDir, layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	f.store = ls
	sp, err := spec.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	f.project = sp.Project
	b, err := fastreg.Build(ctx, repo, fastreg.WithExclude(sp.Bundle.Exclude...))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := fastreg.Push(ctx, ls, sp.Project, b); err != nil {
		t.Fatal(err)
	}
	ents, err := registrar.Compile(ctx, sp, registrar.Build{Version: sha, Bundle: b.Digest.String(), Image: taskImage},
		registrar.CompileOptions{Domain: domain, Store: ls, Platform: pc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&registrar.Registrar{Store: ls}).Register(ctx, domain, ents); err != nil {
		t.Fatal(err)
	}
	f.cfg = engineConfig{Kubeconfig: cluster.Kubeconfig, Impersonate: impersonate, StoreDir: f.storeDir, Platform: pc,
		NSTemplate: "{project}-{domain}-" + nsSuffix}
	f.logs = &syncBuffer{}
	f.runner, f.engine, err = buildEngine(f.cfg, f.logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.runner.Close() })
	return f
}

func (f *kfix) namespace() string {
	ns, err := f.runner.Namespace(f.project, domain)
	if err != nil {
		f.t.Fatal(err)
	}
	return ns
}

func (f *kfix) id(kind registrar.Kind, name string) registrar.ID {
	return registrar.ID{Project: f.project, Domain: domain, Kind: kind, Name: name, Version: f.version}
}

// buildEngine builds the runner and engine of cfg; logs receives the
// runner's log.
func buildEngine(cfg engineConfig, logs io.Writer) (*Runner, *executor.Engine, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	rc.QPS, rc.Burst = 200, 400
	if cfg.Impersonate != "" {
		ns, name, _ := strings.Cut(strings.TrimPrefix(cfg.Impersonate, "system:serviceaccount:"), ":")
		rc.Impersonate = rest.ImpersonationConfig{UserName: cfg.Impersonate,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
		_ = name
	}
	client, err := k8s.NewForConfig(rc)
	if err != nil {
		return nil, nil, err
	}
	ls, err := layout.New(cfg.StoreDir, layout.WithoutFsync())
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, err := New(client, "file://"+cfg.StoreDir, WithPlatform(cfg.Platform), WithNamespaceTemplate(cfg.NSTemplate),
		WithLogger(log), WithImagePullGrace(30*time.Second))
	if err != nil {
		return nil, nil, err
	}
	e, err := executor.New(ls, r, executor.WithPlatform(cfg.Platform), executor.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		executor.WithParallelism(4), executor.WithLogger(log))
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, e, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
