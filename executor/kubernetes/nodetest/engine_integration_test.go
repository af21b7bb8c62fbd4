//go:build integration

package nodetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/registrar"
)

// gatesSpec is a project whose gate task reports its start to an HTTP gate
// on the node's loopback (pods use the host network), waits until the
// gate opens and outputs its input n; pair runs two of them at once.
const gatesSpec = `project: %s
tasks:
  - name: gate
    command: ["python3", "gate.py", "{{inputs.gate}}", "{{inputs.n}}"]
    inputs: {gate: string, n: int}
    outputs: {n: int}
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
workflows:
  - name: pair
    inputs: {gate: string}
    nodes:
      - {id: a, task: gate, inputs: {gate: "{{workflow.inputs.gate}}", n: 1}}
      - {id: b, task: gate, inputs: {gate: "{{workflow.inputs.gate}}", n: 2}}
`

const gatePy = `import os, sys, time, urllib.request as u
base, n = sys.argv[1], sys.argv[2]
u.urlopen(base + "/started?n=" + n).read()
while True:
    try:
        u.urlopen(base + "/gate").read()
        break
    except Exception:
        time.sleep(0.2)
with open(os.path.join(os.environ["RUNWAY_OUTPUTS"], "n"), "w") as f:
    f.write(n)
`

// gateServer counts the starts of each n and opens the gate on demand.
type gateServer struct {
	*httptest.Server
	mu      sync.Mutex
	started map[string]int
	open    atomic.Bool
}

func newGate(t *testing.T) *gateServer {
	g := &gateServer{started: map[string]int{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/started":
			g.mu.Lock()
			g.started[r.URL.Query().Get("n")]++
			g.mu.Unlock()
		case "/gate":
			if !g.open.Load() {
				http.Error(w, "closed", http.StatusServiceUnavailable)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateServer) starts(n string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started[n]
}

// registerGates registers the gates project as project in development:
// its bundle pushed to the tier's registry, its tasks running in the
// sample's image (python3). It returns the version.
func registerGates(t *testing.T, e *env, project, image string, pc *platform.Config) string {
	t.Helper()
	ctx := context.Background()
	repo := filepath.Join(t.TempDir(), project)
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"runway.yaml": fmt.Sprintf(gatesSpec, project), "gate.py": gatePy} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	version := testenv.GitCommitAll(t, repo)
	s, err := remote.New(e.reg.Host + "/runway")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spec.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fastreg.Build(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := fastreg.Push(ctx, s, project, b); err != nil {
		t.Fatal(err)
	}
	ents, err := registrar.Compile(ctx, sp, registrar.Build{Version: version, Bundle: b.Digest.String(), Image: image},
		registrar.CompileOptions{Domain: "development", Store: s, Platform: pc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&registrar.Registrar{Store: s}).Register(ctx, "development", ents); err != nil {
		t.Fatal(err)
	}
	return version
}

// waitFor polls cond every 200ms for up to limit (a generous bound);
// failed, when it returns a non-empty string, ends the wait early.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool, failed func() string) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(200 * time.Millisecond) {
		if failed != nil {
			if why := failed(); why != "" {
				t.Fatalf("waiting for %s: %s", what, why)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, limit)
		}
	}
}

// engineRetriesEvictionOnNode: a task's pod is evicted through the
// Eviction API while its container runs on the real node; the runner
// reports a system failure (Evicted), the engine runs the node again as
// attempt 2, a new Job whose container reaches the gate, and the
// execution succeeds with that attempt's output.
func engineRetriesEvictionOnNode(t *testing.T, e *env, image, plat string) {
	ctx := context.Background()
	pc, err := platform.Load(plat)
	if err != nil {
		t.Fatal(err)
	}
	const project = "evict"
	g := newGate(t)
	version := registerGates(t, e, project, image, pc)
	logs := &lockedBuffer{}
	r, eng, err := nodeEngine(e.admin, e.reg.Host+"/runway", pc, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	ns, _ := r.Namespace(project, "development")
	ex, err := eng.Launch(ctx, executor.Request{
		Target: registrar.ID{Project: project, Domain: "development", Kind: registrar.KindTask, Name: "gate", Version: version},
		Inputs: map[string]any{"gate": g.URL, "n": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	sel := metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(ex.ID)}
	rctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	done := make(chan *executor.Execution, 1)
	go func() {
		final, err := eng.Execute(rctx, ex, nil)
		if err != nil {
			t.Error(err)
		}
		done <- final
	}()
	ended := func() string {
		select {
		case f := <-done:
			done <- f
			return fmt.Sprintf("the execution ended (%+v)\n%s\npods:\n%s", f, logs, e.podLogs(ns, ex.ID))
		default:
			return ""
		}
	}
	start := time.Now()
	waitFor(t, 3*time.Minute, "the first attempt's container to reach the gate", func() bool { return g.starts("4") == 1 }, ended)
	pods, err := e.admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the first attempt's pod: %v (%d pods)", err, len(pods.Items))
	}
	evicted := pods.Items[0]
	if err := e.admin.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: evicted.Name, Namespace: ns}}); err != nil {
		t.Fatalf("evicting %s: %v", evicted.Name, err)
	}
	waitFor(t, 3*time.Minute, "a second attempt's container to reach the gate", func() bool { return g.starts("4") == 2 }, ended)
	g.open.Store(true)
	var final *executor.Execution
	select {
	case final = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the execution did not end within 3m of opening the gate\n%s", logs)
	}
	if final == nil || final.Status != executor.StatusSucceeded {
		t.Fatalf("execution after the eviction: %+v\n%s\npods:\n%s", final, logs, e.podLogs(ns, ex.ID))
	}
	n := final.Node("gate")
	if n.Attempts != 2 || n.Outputs["n"].Scalar != int64(4) {
		t.Fatalf("node gate: attempts %d, outputs %v; want success on attempt 2 with n=4", n.Attempts, n.Outputs)
	}
	if len(n.AttemptLog) != 2 || n.AttemptLog[0].Failure == nil || n.AttemptLog[0].Failure.Reason != "Evicted" || n.AttemptLog[0].Failure.Kind != executor.SystemFailure || n.AttemptLog[1].Failure != nil {
		t.Errorf("attempt log %+v, want attempt 1 a system failure Evicted and attempt 2 a success", n.AttemptLog)
	}
	pods, err = e.admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	// The evicted pod is deleted by the eviction; the second attempt's
	// is another pod on the real node, its container run once.
	var names []string
	second := 0
	for _, p := range pods.Items {
		names = append(names, p.Name)
		if p.Spec.NodeName != e.node.Name {
			t.Errorf("pod %s ran on %q, not the real node", p.Name, p.Spec.NodeName)
		}
		if st := p.Status.ContainerStatuses; p.UID != evicted.UID && len(st) == 1 && st[0].RestartCount == 0 && st[0].State.Terminated != nil && st[0].State.Terminated.ExitCode == 0 {
			second++
		}
	}
	if second != 1 {
		t.Errorf("pods %v: want one pod besides the evicted one, its container ended with exit 0", names)
	}
	t.Logf("evicted %s; attempt 2 (%v) succeeded %s after the first start: %s", evicted.Name, names, time.Since(start).Round(time.Millisecond), n.AttemptLog[0].Failure.Message)
}

// engineResumesOnNode: a runway process (the test binary as engineMain)
// runs the two-node workflow pair; both tasks' containers wait at the
// gate on the real node when it is killed with SIGKILL. A new engine
// resumes the execution under its ID: the runner adopts both Jobs (same
// UIDs, no new Job, no new pod), the gate opens, and the execution
// succeeds with both containers' outputs, each task having started once.
func engineResumesOnNode(t *testing.T, e *env, image, plat string) {
	ctx := context.Background()
	pc, err := platform.Load(plat)
	if err != nil {
		t.Fatal(err)
	}
	const project = "resume"
	g := newGate(t)
	version := registerGates(t, e, project, image, pc)
	storeRef := e.reg.Host + "/runway"
	cfg, err := json.Marshal(runnerConfig{Kubeconfig: e.cp.Kubeconfig, Platform: plat, Store: storeRef,
		Launch: &executor.Request{
			Target: registrar.ID{Project: project, Domain: "development", Kind: registrar.KindWorkflow, Name: "pair", Version: version},
			Inputs: map[string]any{"gate": g.URL}}})
	if err != nil {
		t.Fatal(err)
	}

	// The first runway.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envRunner+"="+string(cfg))
	childLog := &lockedBuffer{}
	child.Stderr = childLog
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	idc := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		idc <- strings.TrimSpace(line)
		_ = child.Wait()
		close(exited)
	}()
	defer func() { _ = child.Process.Kill(); <-exited }()
	var id string
	select {
	case id = <-idc:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the engine process printed no execution ID within 2m:\n%s", childLog)
	}
	if id == "" {
		t.Fatalf("the engine process printed no execution ID:\n%s", childLog)
	}
	ns := project + "-development"
	sel := metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(id)}
	waitFor(t, 3*time.Minute, "both tasks' containers to reach the gate", func() bool { return g.starts("1") == 1 && g.starts("2") == 1 }, func() string {
		select {
		case <-exited:
			return "the engine process exited:\n" + childLog.String()
		default:
			return ""
		}
	})
	jobs, err := e.admin.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil || len(jobs.Items) != 2 {
		t.Fatalf("the first runway's Jobs: %v (%d Jobs)", err, len(jobs.Items))
	}
	before := map[string]string{}
	for _, j := range jobs.Items {
		before[j.Name] = string(j.UID)
	}
	pods, err := e.admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("the first runway's pods: %v (%d pods)", err, len(pods.Items))
	}
	podUIDs := map[string]bool{}
	for _, p := range pods.Items {
		podUIDs[string(p.UID)] = true
	}

	// runway dies: its record says running, nothing deletes the Jobs.
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	s, err := remote.New(storeRef)
	if err != nil {
		t.Fatal(err)
	}
	if ex, err := executor.Get(ctx, s, project, "development", id); err != nil || ex.Status != executor.StatusRunning {
		t.Fatalf("the killed execution's record: %v %+v", err, ex)
	}

	// A new runway resumes the execution.
	logs := &lockedBuffer{}
	r, eng, err := nodeEngine(e.admin, storeRef, pc, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	rctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	done := make(chan *executor.Execution, 1)
	go func() {
		final, err := eng.Resume(rctx, project, "development", id, nil)
		if err != nil {
			t.Error(err)
		}
		done <- final
	}()
	waitFor(t, 2*time.Minute, "the new runway to adopt both Jobs", func() bool { return strings.Count(logs.String(), "adopting existing Job") == 2 }, func() string {
		select {
		case f := <-done:
			done <- f
			return fmt.Sprintf("the resumed execution ended (%+v) without adopting both Jobs:\n%s", f, logs)
		default:
			return ""
		}
	})
	g.open.Store(true)
	var final *executor.Execution
	select {
	case final = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the resumed execution did not end within 3m of opening the gate\n%s", logs)
	}
	if final == nil || final.Status != executor.StatusSucceeded || final.ID != id {
		t.Fatalf("resumed execution: %+v\n%s\npods:\n%s", final, logs, e.podLogs(ns, id))
	}
	if a, b := final.Node("a").Outputs["n"].Scalar, final.Node("b").Outputs["n"].Scalar; a != int64(1) || b != int64(2) {
		t.Errorf("outputs a=%v b=%v, want 1 and 2", a, b)
	}
	if strings.Contains(logs.String(), "created Job") {
		t.Errorf("the resuming runner created a Job:\n%s", logs)
	}
	jobs, err = e.admin.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil || len(jobs.Items) != 2 {
		t.Fatalf("after the resume: %v, %d Jobs, want the 2 adopted ones", err, len(jobs.Items))
	}
	for _, j := range jobs.Items {
		if before[j.Name] != string(j.UID) {
			t.Errorf("Job %s was recreated (uid %s, was %s)", j.Name, j.UID, before[j.Name])
		}
	}
	pods, err = e.admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("after the resume: %v, %d pods, want the 2 first ones", err, len(pods.Items))
	}
	for _, p := range pods.Items {
		st := p.Status.ContainerStatuses
		if !podUIDs[string(p.UID)] || p.Spec.NodeName != e.node.Name || len(st) != 1 || st[0].RestartCount != 0 || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("pod %s (uid %s) on %q: %+v; want one of the first runway's pods, its container run once on the real node", p.Name, p.UID, p.Spec.NodeName, st)
		}
	}
	if a, b := g.starts("1"), g.starts("2"); a != 1 || b != 1 {
		t.Errorf("the tasks started %d and %d times, want once each", a, b)
	}
	t.Logf("execution %s resumed after SIGKILL: Jobs %v adopted, outputs a=%v b=%v", id, keys(before), final.Node("a").Outputs["n"].Scalar, final.Node("b").Outputs["n"].Scalar)
}
