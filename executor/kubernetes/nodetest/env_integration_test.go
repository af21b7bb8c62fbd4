//go:build integration

package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/testkit/kubenode"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/packager"
)

// repoRoot is the module root, from this package's directory.
const repoRoot = "../../.."

// env is one real single-node cluster with a registry: Debian's
// docker-registry (the store, and where images are pulled from), etcd,
// kube-apiserver, kube-controller-manager (with the CronJob controller),
// kube-scheduler, containerd and kubelet; plus the Python base image and a
// static runway, the binary the packager embeds and the CLI the tests run.
type env struct {
	reg    *testenv.DockerRegistry
	cp     *kubetest.ControlPlane
	node   *kubenode.Node
	admin  kubernetes.Interface
	runway string // static runway-core
	base   string // the Python base image, by tag
	home   string // RUNWAY_HOME of the CLI runs
}

func startEnv(tb testing.TB) *env {
	tb.Helper()
	start := time.Now()
	e := &env{reg: testenv.StartDockerRegistry(tb), home: tb.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := kubetest.Start(ctx, filepath.Join(tb.TempDir(), "cluster"), kubetest.WithControllers(kubetest.NodeControllers))
	if err != nil {
		tb.Fatalf("starting the control plane: %v", err)
	}
	tb.Cleanup(cp.Stop)
	e.cp = cp
	if e.admin, err = cp.Client(); err != nil {
		tb.Fatal(err)
	}
	// runway's own namespace (deploy/rbac.yaml makes it in a real cluster)
	// holds the Leases of its cross-process locks.
	if _, err := e.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "runway-system"}}, metav1.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
	e.node = kubenode.Start(tb, cp, e.reg.Host)
	tb.Logf("control plane and node Ready in %s", time.Since(start).Round(time.Millisecond))
	e.base, _ = testenv.PushPythonBase(tb, e.reg.Host)
	e.runway = staticRunway(tb)
	return e
}

// staticRunway is $RUNWAY_BINARY (.ci/run builds it) or a fresh
// CGO_ENABLED=0 build of cmd/runway-core: the README's build.
func staticRunway(tb testing.TB) string {
	if p := os.Getenv(packager.EnvRunwayBinary); p != "" {
		return p
	}
	return testenv.BuildStatic(tb, repoRoot, "./cmd/runway-core")
}

// platformFile writes the platform config of the tier: the kubernetes
// executor on this cluster with host-network pods (the registry is on the
// node's loopback), plain HTTP to the registry, a managed development
// domain and a staging domain whose quota no sample task fits in.
func (e *env) platformFile(tb testing.TB, runwayImage string) string {
	tb.Helper()
	return writePlatform(tb, e.platformYAML(runwayImage))
}

// platformYAML is the platform config platformFile writes.
func (e *env) platformYAML(runwayImage string) string {
	return fmt.Sprintf(`store: %s/runway
domains:
  - name: development
    ceilings: {cpu: "2", memory: 1Gi}
    manageNamespace: true
    quota: {limits.memory: 4Gi}
  - name: staging
    ceilings: {cpu: "2", memory: 1Gi}
    manageNamespace: true
    quota: {limits.memory: 100Mi}
  - name: production
    ceilings: {cpu: "2", memory: 1Gi}
executor:
  kind: kubernetes
  kubeconfig: %s
  hostNetwork: true
  runwayImage: %q
  backoff: 100ms
registry:
  insecure: true
`, e.reg.Host, e.cp.Kubeconfig, runwayImage)
}

// writePlatform writes a platform config into a new file.
func writePlatform(tb testing.TB, cfg string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "platform.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

type cliResult struct {
	out, err string
	code     int
}

// cli runs the static runway binary in dir.
func (e *env) cli(tb testing.TB, dir string, args ...string) cliResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.runway, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RUNWAY_HOME="+e.home, packager.EnvRunwayBinary+"="+e.runway)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	r := cliResult{out: out.String(), err: stderr.String()}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("runway %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// nodeView is the part of `-o json` execution output the tests read.
type nodeView struct {
	ID, Status, Cache string
	Attempts          int
	Outputs           map[string]any
	Error             *struct {
		Kind, Reason, Message string
	}
}

type executionView struct {
	ID, Status, Error string
	Outputs           map[string]any
	Nodes             []nodeView
}

func decodeExecution(tb testing.TB, r cliResult) executionView {
	tb.Helper()
	var v executionView
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || v.ID == "" {
		tb.Fatalf("decoding an execution (exit %d): %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.out, r.err)
	}
	return v
}

// podsOnNode counts the pods of an execution and checks each ran on the
// real node.
func (e *env) podsOf(tb testing.TB, ns, execution string) int {
	tb.Helper()
	l, err := e.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(execution)})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range l.Items {
		if p.Spec.NodeName != kubenode.NodeName {
			tb.Errorf("pod %s ran on %q, not the real node", p.Name, p.Spec.NodeName)
		}
	}
	return len(l.Items)
}

// podLogs returns every container log of an execution's pods, read
// through the apiserver from the kubelet, for failure messages.
func (e *env) podLogs(ns, execution string) string {
	ctx := context.Background()
	l, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(execution)})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range l.Items {
		raw, err := e.admin.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		fmt.Fprintf(&b, "--- pod %s (%s) log (err %v):\n%s\n", p.Name, p.Status.Phase, err, raw)
	}
	return b.String()
}
