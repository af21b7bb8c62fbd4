//go:build integration

package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/testkit/kubenode"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// sampleExtras are tasks the test adds to its copy of the sample: one
// that allocates 200 MB under a 64Mi limit, one that outlives its
// timeout.
const sampleExtras = `  - name: hog
    command: ["python3", "-c", "x = b'x' * (200 << 20); print(len(x))"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
    timeout: 2m
  - name: sleepy
    command: ["python3", "-c", "import time; time.sleep(300)"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
    timeout: 3s

`

// sampleRepo copies testdata/sample into a new git repository with
// image.base naming the test tier's Python base, the nightly launch plan
// scheduled every minute (so its CronJob fires during the test) and the
// extra tasks.
func sampleRepo(tb testing.TB, base string) string {
	tb.Helper()
	return sampleRepoAs(tb, base, "house-prices")
}

// sampleRepoAs is sampleRepo registering as project (a project of its
// own keeps a test's registrations, bundles and namespace apart from the
// sample's).
func sampleRepoAs(tb testing.TB, base, project string) string {
	tb.Helper()
	repo := filepath.Join(tb.TempDir(), project)
	testenv.CopyTree(tb, filepath.Join(repoRoot, "testdata", "sample"), repo)
	p := filepath.Join(repo, "runway.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	s := string(b)
	for _, edit := range []struct{ old, new string }{
		{"\nimage:\n", "\nimage:\n  base: " + base + "\n"},
		{"\nworkflows:\n", "\n" + sampleExtras + "workflows:\n"},
		{`schedule: "0 3 * * *"`, `schedule: "* * * * *"`},
		{"\nproject: house-prices\n", "\nproject: " + project + "\n"},
	} {
		if !strings.Contains(s, edit.old) {
			tb.Fatalf("testdata/sample/runway.yaml no longer holds %q", edit.old)
		}
		s = strings.Replace(s, edit.old, edit.new, 1)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		tb.Fatal(err)
	}
	testenv.GitCommitAll(tb, repo)
	return repo
}

// TestIntegrationRealNode is the Kubernetes executor on a real kubelet:
// the sample pipeline registered with its image built by the packager on a
// real Python base, run as pods, compared with a local run; the same image
// under podman; the kubelet's OOMKilled, a deadline, a quota refusal,
// pulls and bundle fetches from a registry that requires credentials, a
// Job adopted by a restarted runway, the engine's retry of an evicted task
// and its Resume of a workflow after runway is killed, a signed bundle
// verified (and a replaced one refused) by exec-task in the pod, and a
// CronJob fired by the real CronJob controller. Every pod runs on the real node (no stand-in in
// this binary).
func TestIntegrationRealNode(t *testing.T) {
	e := startEnv(t)
	repo := sampleRepo(t, e.base)
	plat := e.platformFile(t, "")

	// Register: the packager builds the image (Python base + the
	// dependency layer + the static runway) and pushes it with the bundle.
	r := e.cli(t, repo, "register", "--platform", plat, "-o", "json")
	if r.code != 0 {
		t.Fatalf("register: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	image := taskImage(t, e, repo, plat)
	t.Logf("sample image %s", image)

	var kubeRun executionView
	t.Run("SampleNightlyOnNode", func(t *testing.T) {
		start := time.Now()
		r := e.cli(t, repo, "run", "launchplan", "nightly", "--platform", plat, "-o", "json")
		kubeRun = decodeExecution(t, r)
		if r.code != 0 || kubeRun.Status != "succeeded" {
			t.Fatalf("nightly on the node: exit %d, %s %s\n%s\n%s\npods:\n%s", r.code, kubeRun.Status, kubeRun.Error, r.out, r.err, e.podLogs("house-prices-development", kubeRun.ID))
		}
		t.Logf("nightly on the node in %s", time.Since(start).Round(time.Millisecond))
		ns := "house-prices-development"
		if n := e.podsOf(t, ns, kubeRun.ID); n != 4 {
			t.Errorf("%d pods for the 4 nodes of nightly", n)
		}
		// The kubelet applied the task's limits: 256Mi and 1 CPU.
		pods, err := e.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(kubeRun.ID)})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("listing pods: %v", err)
		}
		// The runner returns once the container's result is in; the pod's
		// phase may still say Running for a moment.
		p := pods.Items[0]
		if st := p.Status.ContainerStatuses; len(st) == 0 || st[0].ImageID == "" || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 0 {
			t.Errorf("pod %s: phase %s, statuses %+v", p.Name, p.Status.Phase, st)
		}
		if lim := p.Spec.Containers[0].Resources.Limits.Memory().String(); lim != "256Mi" {
			t.Errorf("pod memory limit %s", lim)
		}

		second := decodeExecution(t, e.cli(t, repo, "run", "launchplan", "nightly", "--platform", plat, "-o", "json"))
		if second.Status != "succeeded" {
			t.Fatalf("second run: %s %s", second.Status, second.Error)
		}
		for _, n := range second.Nodes {
			if n.Cache != "hit" {
				t.Errorf("second run node %s: cache %q", n.ID, n.Cache)
			}
		}
		if n := e.podsOf(t, ns, second.ID); n != 0 {
			t.Errorf("a run of cache hits started %d pods", n)
		}
	})

	t.Run("SameOutputsAsLocalRun", func(t *testing.T) {
		if kubeRun.ID == "" {
			t.Skip("the node run failed")
		}
		local := decodeExecution(t, e.cli(t, repo, "run", "launchplan", "nightly", "--platform", plat, "--executor", "local", "--overwrite-cache", "-o", "json"))
		if local.Status != "succeeded" {
			t.Fatalf("local run: %s %s", local.Status, local.Error)
		}
		for _, k := range []string{"r2", "rmse", "rows"} {
			a, b := kubeRun.Outputs[k], local.Outputs[k]
			af, aok := a.(float64)
			bf, bok := b.(float64)
			if !aok || !bok || math.Abs(af-bf) > 1e-9 {
				t.Errorf("output %s: node %v, local %v", k, a, b)
			}
		}
		if kubeRun.Outputs["model"] != local.Outputs["model"] {
			t.Errorf("model: node %v, local %v (the same code on the same data must give the same bytes)", kubeRun.Outputs["model"], local.Outputs["model"])
		}
	})

	t.Run("PodmanRunsPackagedImage", func(t *testing.T) {
		if kubeRun.ID == "" {
			t.Skip("the node run failed")
		}
		podmanExecTask(t, e, image, kubeRun.ID)
	})

	t.Run("OOMKilledByKubelet", func(t *testing.T) {
		r := e.cli(t, repo, "run", "task", "hog", "--platform", plat, "-o", "json")
		ex := decodeExecution(t, r)
		if r.code != 5 || ex.Status != "failed" || len(ex.Nodes) != 1 || ex.Nodes[0].Error == nil {
			t.Fatalf("hog: exit %d %+v\n%s", r.code, ex, r.err)
		}
		if er := ex.Nodes[0].Error; er.Reason != "OOMKilled" || er.Kind != "user" || !strings.Contains(er.Message, "64Mi") {
			t.Errorf("hog failed with %+v, want a user OOMKilled naming the 64Mi limit", er)
		}
		// The kubelet said so: the pod's container terminated OOMKilled.
		pods, err := e.admin.CoreV1().Pods("house-prices-development").List(context.Background(), metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(ex.ID)})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("pods of the hog execution: %v", err)
		}
		for _, p := range pods.Items {
			st := p.Status.ContainerStatuses
			if len(st) == 0 || st[0].State.Terminated == nil || st[0].State.Terminated.Reason != "OOMKilled" {
				t.Errorf("pod %s container state %+v, want terminated OOMKilled by the kubelet", p.Name, st)
			}
		}
		get := e.cli(t, repo, "get", "execution", ex.ID, "--platform", plat)
		if !strings.Contains(get.out, "OOMKilled (user failure)") {
			t.Errorf("runway get execution does not say OOMKilled (user failure):\n%s\n%s", get.out, get.err)
		}
	})

	t.Run("DeadlineEnforced", func(t *testing.T) {
		start := time.Now()
		r := e.cli(t, repo, "run", "task", "sleepy", "--platform", plat, "-o", "json")
		ex := decodeExecution(t, r)
		took := time.Since(start)
		if ex.Status != "failed" || ex.Nodes[0].Error == nil || ex.Nodes[0].Error.Reason != "Timeout" {
			t.Fatalf("sleepy: %+v\n%s", ex, r.err)
		}
		if took > 90*time.Second {
			t.Errorf("a 3s timeout took %s to be enforced", took)
		}
		t.Logf("3s timeout enforced, execution over after %s: %s", took.Round(time.Millisecond), ex.Nodes[0].Error.Message)
	})

	t.Run("QuotaFailsFast", func(t *testing.T) {
		r := e.cli(t, repo, "register", "--platform", plat, "--domain", "staging", "-o", "json")
		if r.code != 0 {
			t.Fatalf("register into staging: exit %d\n%s\n%s", r.code, r.out, r.err)
		}
		start := time.Now()
		r = e.cli(t, repo, "run", "task", "prepare", "--platform", plat, "--domain", "staging", "-i", "rows=10", "-i", "seed=1", "-o", "json")
		took := time.Since(start)
		if r.code == 0 {
			t.Fatalf("a task over the namespace quota ran:\n%s", r.out)
		}
		all := r.out + r.err
		if !strings.Contains(all, "runway-quota") || !strings.Contains(all, "QuotaExceeded") {
			t.Errorf("the refusal does not name the quota:\n%s", all)
		}
		if took > time.Minute {
			t.Errorf("the quota refusal took %s", took)
		}
		t.Logf("quota refusal after %s", took.Round(time.Millisecond))
	})

	t.Run("FaultsClassifiedOnNode", func(t *testing.T) {
		faultsOnNode(t, e, image, plat)
	})

	t.Run("CancelLeavesNothingOnNode", func(t *testing.T) {
		cancelOnNode(t, e, image, plat)
	})

	t.Run("RegistryCredentialsOnNode", func(t *testing.T) {
		registryCredsOnNode(t, e, image, plat)
	})

	t.Run("RestartAdoptsJobOnNode", func(t *testing.T) {
		restartAdoptsOnNode(t, e, image, plat)
	})

	t.Run("EngineRetriesEvictionOnNode", func(t *testing.T) {
		engineRetriesEvictionOnNode(t, e, image, plat)
	})

	t.Run("EngineResumesAfterKillOnNode", func(t *testing.T) {
		engineResumesOnNode(t, e, image, plat)
	})

	t.Run("ProvenanceVerifiedInPod", func(t *testing.T) {
		provenanceOnNode(t, e)
	})

	t.Run("CronJobFiresOnNode", func(t *testing.T) {
		// Activation does not create a managed namespace (the executor
		// does, on its first Job): a node run went before in this test,
		// but make sure when this subtest runs alone.
		_, _ = e.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "house-prices-development"}}, metav1.CreateOptions{})
		cronPlat := e.platformFile(t, image)
		version := strings.TrimSpace(gitHead(t, repo))
		r := e.cli(t, repo, "activate", "launchplan/nightly", "--version", version, "--actor", "test", "--platform", cronPlat)
		if r.code != 0 {
			t.Fatalf("activate: exit %d\n%s\n%s", r.code, r.out, r.err)
		}
		ns := "house-prices-development"
		cj, err := e.admin.BatchV1().CronJobs(ns).Get(context.Background(), "lp-nightly", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("activation made no CronJob: %v\n%s", err, r.err)
		}
		// The CronJob controller starts a Job at the next minute; its pod
		// is scheduled onto the node and the kubelet starts runway in it.
		deadline := time.Now().Add(150 * time.Second)
		for {
			jobs, _ := e.admin.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
			var fired *batchv1.Job
			for i := range jobs.Items {
				for _, o := range jobs.Items[i].OwnerReferences {
					if o.UID == cj.UID {
						fired = &jobs.Items[i]
					}
				}
			}
			if fired != nil {
				pods, _ := e.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + fired.Name})
				for _, p := range pods.Items {
					st := p.Status.ContainerStatuses
					if p.Spec.NodeName == kubenode.NodeName && len(st) > 0 && (st[0].State.Running != nil || st[0].State.Terminated != nil) {
						t.Logf("CronJob %s fired Job %s; pod %s runs runway on node %s (%+v)", cj.Name, fired.Name, p.Name, p.Spec.NodeName, st[0].State)
						return
					}
				}
			}
			if time.Now().After(deadline) {
				var why strings.Builder
				if fired != nil {
					fmt.Fprintf(&why, "Job %s status %+v\n", fired.Name, fired.Status)
					pods, _ := e.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + fired.Name})
					for _, p := range pods.Items {
						fmt.Fprintf(&why, "pod %s on %q: %s %+v %+v\n", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
					}
				}
				evs, _ := e.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
				for _, ev := range evs.Items {
					if ev.Type == corev1.EventTypeWarning {
						fmt.Fprintf(&why, "event %s %s: %s\n", ev.InvolvedObject.Name, ev.Reason, ev.Message)
					}
				}
				t.Fatalf("the CronJob did not fire a Job whose pod ran on the node within 150s (fired: %v)\n%s", fired != nil, why.String())
			}
			time.Sleep(time.Second)
		}
	})
}

// taskImage is the image the registered prepare task runs in, read from a
// dry run's view of the registered entity (`runway get task prepare`).
func taskImage(tb testing.TB, e *env, repo, plat string) string {
	tb.Helper()
	r := e.cli(tb, repo, "get", "task", "prepare", "--platform", plat, "-o", "json")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		tb.Fatalf("runway get task prepare: %v\n%s\n%s", err, r.out, r.err)
	}
	img := findString(v, "image")
	if !strings.Contains(img, "@sha256:") {
		tb.Fatalf("no pinned image in `runway get task prepare`:\n%s", r.out)
	}
	return img
}

// findString returns the first string value under key anywhere in v.
func findString(v any, key string) string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[key].(string); ok {
			return s
		}
		for _, c := range x {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	case []any:
		for _, c := range x {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	}
	return ""
}

func gitHead(tb testing.TB, repo string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(repo, ".git", "refs", "heads", "main"))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// podmanExecTask runs the packager's image under podman: `runway version`,
// then `exec-task` of the prepare task with the exec-task spec the
// Kubernetes runner gave that task's pod in the node run, against the
// registered bundle in the registry.
func podmanExecTask(t *testing.T, e *env, image, execution string) {
	pm := testenv.NewPodman(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		full := append([]string{"run", "--rm", "--network", "host", "--tls-verify=false",
			"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--memory", "512m"}, args...)
		out, err := pm.Command(ctx, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(full, " "), err, out)
		}
		return string(out)
	}
	if out := run(image, "version"); !strings.Contains(out, "runway") {
		t.Fatalf("`runway version` in the image printed %q", out)
	}
	pods, err := e.admin.CoreV1().Pods("house-prices-development").List(ctx, metav1.ListOptions{
		LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(execution) + "," + kubenames.LabelNode + "=prep"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the prep pod of %s: %v (%d pods)", execution, err, len(pods.Items))
	}
	var spec exectask.Spec
	if err := json.Unmarshal([]byte(pods.Items[0].Annotations[kubenames.AnnotationSpec]), &spec); err != nil {
		t.Fatalf("the pod's exec-task spec: %v", err)
	}
	spec.Execution += "-podman"
	spec.WorkDir, spec.CheckpointDir, spec.ResultFile = "/runway/work", "/runway/checkpoint", "/runway/result.json"
	dir := t.TempDir()
	// The task runs as 65532, as in a pod; work and checkpoint stand for
	// the pod's emptyDirs.
	for _, d := range []string{dir, filepath.Join(dir, "work"), filepath.Join(dir, "checkpoint")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := run("-v", dir+":/runway", "-e", "RUNWAY_STORE_INSECURE=1", "--read-only", "--user", "65532:65532",
		"--tmpfs", "/tmp", image, "exec-task", "--spec", "/runway/spec.json")
	res, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatalf("exec-task under podman wrote no result: %v\n%s", err, out)
	}
	var result exectask.Result
	if err := json.Unmarshal(res, &result); err != nil || result.Failure != nil || len(result.Outputs) != 2 {
		t.Fatalf("exec-task under podman: %v %+v\n%s", err, result.Failure, out)
	}
	t.Logf("podman ran prepare through runway exec-task in %s: outputs %v", result.Duration, keys(result.Outputs))
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
