//go:build integration

package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

func executionJobs(t testing.TB, ns, id string) []batchv1.Job {
	t.Helper()
	sel := labels.SelectorFromSet(labels.Set{kubenames.LabelExecution: id}).String()
	l, err := admin.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func executionPods(t testing.TB, ns, id string) []corev1.Pod {
	t.Helper()
	sel := labels.SelectorFromSet(labels.Set{kubenames.LabelExecution: id}).String()
	l, err := admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// eventually waits up to limit (a generous bound) for cond.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, limit, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s", limit, what)
	}
}

func runningPods(t testing.TB, ns, id string) int {
	n := 0
	for _, p := range executionPods(t, ns, id) {
		if p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// The Job runway renders is accepted by the real apiserver and its pods
// pass Pod Security "restricted" admission in a namespace labelled to
// enforce it; the same pod made privileged is refused there, so the
// enforcement is real.
func TestIntegrationRestrictedPodSecurity(t *testing.T) {
	ctx := context.Background()
	pc := testPlatform(false, nil)
	f := newKFix(t, "", smallProject, "psa", pc, "")
	ns := f.namespace()
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindTask, "echo"), Inputs: map[string]any{"n": "7"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != executor.StatusSucceeded {
		t.Fatalf("execution %s: %s: %s %+v\nrunner log:\n%s", ex.ID, ex.Status, ex.Error, ex.Nodes[0].Failure, f.logs)
	}
	if n := ex.Outputs["n"]; n.Scalar != int64(7) {
		t.Errorf("output n = %+v, want 7", n)
	}
	jobs := executionJobs(t, ns, ex.ID)
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs for the execution, want 1", len(jobs))
	}
	// Server-side dry runs of the Job's pod: accepted as rendered,
	// refused once it asks for root and privilege escalation.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "dry-", Namespace: ns}, Spec: jobs[0].Spec.Template.Spec}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("the rendered pod is refused in a restricted namespace: %v", err)
	}
	bad := pod.DeepCopy()
	bad.Spec.SecurityContext.RunAsNonRoot = ptr.To(false)
	bad.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	_, err = admin.CoreV1().Pods(ns).Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
		t.Fatalf("a privileged pod was not refused by Pod Security admission: %v", err)
	}
}

// A task whose limit exceeds the namespace quota fails fast, naming the
// quota and the amounts, and leaves no Job behind.
func TestIntegrationQuotaFailsFast(t *testing.T) {
	ctx := context.Background()
	pc := testPlatform(true, map[string]string{"limits.memory": "256Mi", "pods": "10"})
	f := newKFix(t, "", smallProject, "quota", pc, "")
	var mu sync.Mutex
	var runErrs []error
	f.engine, _ = executor.New(f.store, recordErrors{f.runner, &mu, &runErrs}, executor.WithPlatform(pc), executor.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	start := time.Now()
	ex, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindTask, "big")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if ex.Status != executor.StatusFailed {
		t.Fatalf("status %s, want failed", ex.Status)
	}
	fl := ex.Nodes[0].Failure
	if fl == nil || fl.Reason != ReasonQuota || !fl.Permanent || ex.Nodes[0].Attempts != 1 {
		t.Fatalf("node failure %+v after %d attempts, want a permanent %s after 1", fl, ex.Nodes[0].Attempts, ReasonQuota)
	}
	for _, want := range []string{`"runway-quota"`, "requested limits.memory=512Mi", "limited to limits.memory=256Mi"} {
		if !strings.Contains(fl.Message, want) {
			t.Errorf("failure %q does not say %q", fl.Message, want)
		}
	}
	mu.Lock()
	if len(runErrs) != 1 || !errors.Is(runErrs[0], ErrQuota) {
		t.Errorf("runner errors %v, want one wrapping ErrQuota", runErrs)
	}
	mu.Unlock()
	if took > time.Minute {
		t.Errorf("the quota refusal took %s to surface", took)
	}
	t.Logf("quota refusal surfaced after %s", took.Round(time.Millisecond))
	if jobs := executionJobs(t, f.namespace(), ex.ID); len(jobs) != 0 {
		t.Errorf("%d Jobs left after the refusal", len(jobs))
	}
	// runway made the namespace with its quota and LimitRange.
	if _, err := admin.CoreV1().LimitRanges(f.namespace()).Get(ctx, LimitRangeName, metav1.GetOptions{}); err != nil {
		t.Errorf("managed namespace has no LimitRange: %v", err)
	}
}

type recordErrors struct {
	*Runner
	mu   *sync.Mutex
	errs *[]error
}

func (r recordErrors) Run(ctx context.Context, a executor.Attempt) (*executor.AttemptResult, error) {
	res, err := r.Runner.Run(ctx, a)
	if err != nil {
		r.mu.Lock()
		*r.errs = append(*r.errs, err)
		r.mu.Unlock()
	}
	return res, err
}

// The sample workflow (prepare -> profile | fit -> evaluate) runs as one
// Job per node; file outputs flow from node to node through the store;
// a second run with the same inputs is all cache hits and creates no Job.
func TestIntegrationWorkflowRunsAsJobsThenHitsCache(t *testing.T) {
	ctx := context.Background()
	pc := testPlatform(true, map[string]string{"limits.memory": "4Gi"})
	f := newKFix(t, filepath.Join("..", "..", "testdata", "sample"), nil, "wf", pc, "")
	ns := f.namespace()
	inputs := map[string]any{"rows": "400", "seed": "3"}
	first, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "train"), Inputs: inputs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != executor.StatusSucceeded {
		for _, n := range first.Nodes {
			t.Logf("node %s: %s %+v", n.ID, n.Status, n.Failure)
		}
		t.Fatalf("first run %s: %s\nrunner log:\n%s", first.Status, first.Error, f.logs)
	}
	jobs := executionJobs(t, ns, first.ID)
	if len(jobs) != len(first.Nodes) {
		t.Fatalf("%d Jobs for %d nodes", len(jobs), len(first.Nodes))
	}
	// The runner returns once the pod's result is in; the Job controller
	// marks the Job Complete right after.
	eventually(t, time.Minute, "every Job to be Complete", func() bool {
		for _, j := range executionJobs(t, ns, first.ID) {
			if jobCondition(&j, batchv1.JobComplete) == nil {
				return false
			}
		}
		return true
	})
	for _, j := range jobs {
		if j.Labels[kubenames.LabelProject] != f.project || j.Labels[kubenames.LabelVersion] != f.version || j.Labels[kubenames.LabelKind] != "task" {
			t.Errorf("Job %s labels %v", j.Name, j.Labels)
		}
	}
	if r2 := first.Outputs["r2"]; r2.Type != executor.TypeFloat || r2.Scalar.(float64) < 0.8 {
		t.Errorf("r2 = %+v, want a fit with r2 >= 0.8 (the model file flowed from fit to evaluate)", r2)
	}
	model := first.Outputs["model"]
	h, err := v1.NewHash(model.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := store.ReadBlob(ctx, f.store, store.ExecutionRepo(f.project, domain), h, 1<<20); err != nil || len(b) == 0 {
		t.Fatalf("the model a pod uploaded is not in the store: %v", err)
	}

	second, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "train"), Inputs: inputs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != executor.StatusSucceeded {
		t.Fatalf("second run %s: %s", second.Status, second.Error)
	}
	for _, n := range second.Nodes {
		if n.Cache != executor.CacheHit {
			t.Errorf("second run node %s: cache %s", n.ID, n.Cache)
		}
	}
	if jobs := executionJobs(t, ns, second.ID); len(jobs) != 0 {
		t.Errorf("a run of cache hits created %d Jobs", len(jobs))
	}
}

// runway is killed (-9) while its Jobs run; a new runway executing the
// same execution adopts the running Jobs: no Job and no pod is created
// twice, and the execution completes with the adopted Jobs' outputs.
func TestIntegrationRestartAdoptsRunningJobs(t *testing.T) {
	ctx := context.Background()
	pc := testPlatform(true, nil)
	f := newKFix(t, "", smallProject, "restart", pc, "")
	ns := f.namespace()
	gate := filepath.Join(t.TempDir(), "gate")
	cfg := f.cfg
	cfg.Launch = &executor.Request{Target: f.id(registrar.KindWorkflow, "pair"), Inputs: map[string]any{"gate": gate}}
	child, id := startEngineProcess(t, cfg)
	eventually(t, 2*time.Minute, "both Jobs' pods to run", func() bool { return runningPods(t, ns, id) == 2 })
	before := map[string]string{}
	for _, j := range executionJobs(t, ns, id) {
		before[j.Name] = string(j.UID)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	// Restart: the same execution, executed again by a new runway.
	ex, err := executor.Get(ctx, f.store, f.project, domain, id)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != executor.StatusRunning {
		t.Fatalf("the killed execution's record says %s", ex.Status)
	}
	done := make(chan *executor.Execution, 1)
	go func() {
		final, err := f.engine.Resume(ctx, f.project, domain, id, nil)
		if err != nil {
			t.Error(err)
		}
		done <- final
	}()
	eventually(t, time.Minute, "the new runway to adopt both Jobs", func() bool {
		return strings.Count(f.logs.String(), "adopting existing Job") == 2
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var final *executor.Execution
	select {
	case final = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the restarted execution did not finish")
	}
	if final == nil || final.Status != executor.StatusSucceeded {
		t.Fatalf("restarted execution: %+v\n%s", final, f.logs)
	}
	if a, b := final.Node("a").Outputs["n"].Scalar, final.Node("b").Outputs["n"].Scalar; a != int64(1) || b != int64(2) {
		t.Errorf("outputs a=%v b=%v, want 1 and 2", a, b)
	}
	after := executionJobs(t, ns, id)
	if len(after) != 2 {
		t.Fatalf("%d Jobs after the restart, want the 2 adopted ones", len(after))
	}
	for _, j := range after {
		if before[j.Name] != string(j.UID) {
			t.Errorf("Job %s was recreated (uid %s, was %s)", j.Name, j.UID, before[j.Name])
		}
	}
	if pods := executionPods(t, ns, id); len(pods) != 2 {
		t.Errorf("%d pods, want 2: a task ran twice", len(pods))
	}
}

// Cancelling an execution while its Jobs run deletes them (background
// propagation); the garbage collector then removes their pods.
func TestIntegrationCancelLeavesNoJobs(t *testing.T) {
	pc := testPlatform(true, nil)
	f := newKFix(t, "", smallProject, "cancel", pc, "")
	ns := f.namespace()
	gate := filepath.Join(t.TempDir(), "never")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ex, err := f.engine.Launch(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "pair"), Inputs: map[string]any{"gate": gate}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *executor.Execution, 1)
	go func() {
		final, err := f.engine.Execute(ctx, ex, nil)
		if err != nil {
			t.Error(err)
		}
		done <- final
	}()
	eventually(t, 2*time.Minute, "both Jobs' pods to run", func() bool { return runningPods(t, ns, ex.ID) == 2 })
	cancel()
	final := <-done
	if final == nil || final.Status != executor.StatusAborted {
		t.Fatalf("cancelled execution: %+v", final)
	}
	if jobs := executionJobs(t, ns, ex.ID); len(jobs) != 0 {
		t.Errorf("%d Jobs left after cancelling", len(jobs))
	}
	eventually(t, time.Minute, "the garbage collector to remove the pods", func() bool { return len(executionPods(t, ns, ex.ID)) == 0 })
}

const executorSA = "system:serviceaccount:runway-system:runway-executor"

// The executor, acting as its ServiceAccount through impersonation with
// only deploy/rbac.yaml's grants, creates its namespace, quota and
// LimitRange and runs a task; everything else is forbidden.
func TestIntegrationRBACServiceAccount(t *testing.T) {
	ctx := context.Background()
	applyManifest(t, filepath.Join("..", "..", "deploy", "rbac.yaml"))
	pc := testPlatform(true, map[string]string{"limits.memory": "1Gi"})
	f := newKFix(t, "", smallProject, "rbac", pc, executorSA)
	ex, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindTask, "echo"), Inputs: map[string]any{"n": "5"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != executor.StatusSucceeded {
		t.Fatalf("as the ServiceAccount: %s: %s %+v\n%s", ex.Status, ex.Error, ex.Nodes[0].Failure, f.logs)
	}
	ns := f.namespace()
	if _, err := admin.CoreV1().ResourceQuotas(ns).Get(ctx, QuotaName, metav1.GetOptions{}); err != nil {
		t.Errorf("the ServiceAccount did not create the quota: %v", err)
	}
	if err := f.runner.Cancel(ctx, ns, ex.ID); err != nil {
		t.Errorf("the ServiceAccount cannot cancel: %v", err)
	}

	sa, err := k8s.NewForConfig(cluster.Impersonate(executorSA, "system:serviceaccounts", "system:serviceaccounts:runway-system", "system:authenticated"))
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "direct"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: taskImage}}}}
	forbidden := []struct {
		what string
		do   func() error
	}{
		{"create a pod directly", func() error { _, err := sa.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); return err }},
		{"delete a pod", func() error { return sa.CoreV1().Pods(ns).Delete(ctx, "x", metav1.DeleteOptions{}) }},
		{"update a pod's status", func() error {
			_, err := sa.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
			return err
		}},
		{"read pod logs", func() error { return sa.CoreV1().Pods(ns).GetLogs("x", &corev1.PodLogOptions{}).Do(ctx).Error() }},
		{"read secrets", func() error { _, err := sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); return err }},
		{"delete the namespace", func() error { return sa.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) }},
		{"delete the quota", func() error { return sa.CoreV1().ResourceQuotas(ns).Delete(ctx, QuotaName, metav1.DeleteOptions{}) }},
		{"list nodes", func() error { _, err := sa.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); return err }},
		{"create a deployment", func() error {
			_, err := sa.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}}, metav1.CreateOptions{})
			return err
		}},
		{"update a Job", func() error {
			_, err := sa.BatchV1().Jobs(ns).Update(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.UpdateOptions{})
			return err
		}},
		{"grant itself a role", func() error {
			_, err := sa.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"}}, metav1.CreateOptions{})
			return err
		}},
	}
	for _, fb := range forbidden {
		if err := fb.do(); !apierrors.IsForbidden(err) {
			t.Errorf("the ServiceAccount may %s: %v", fb.what, err)
		}
	}
}

// applyManifest creates every object of a multi-document YAML file.
func applyManifest(t testing.TB, path string) {
	t.Helper()
	ctx := context.Background()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(fh, 4096)
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("decoding %s: %v", path, err)
		}
		if len(raw.Raw) == 0 || string(raw.Raw) == "null" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		if err != nil {
			t.Fatalf("decoding an object of %s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = admin.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			_, err = admin.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			_, err = admin.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = admin.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = admin.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("%s: unexpected %T", path, obj)
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("applying %s: %v", path, err)
		}
	}
}

// BenchmarkIntegrationHundredConcurrentTasks creates 100 task attempts at
// once against the real apiserver and observes each to completion: Job
// created, pod created by the Job controller, bound and run by the
// stand-in (exec-task with a `true` command), Job Complete, result read.
func BenchmarkIntegrationHundredConcurrentTasks(b *testing.B) {
	ctx := context.Background()
	pc := testPlatform(true, nil)
	r, err := New(admin, "file://"+b.TempDir(), WithPlatform(pc), WithNamespaceTemplate("{project}-{domain}-bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	const n = 100
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := executor.NewID(time.Now())
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for k := 0; k < n; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				_, err := r.Run(ctx, executor.Attempt{
					ExecutionID: id, NodeID: fmt.Sprintf("t%03d", k), Number: 1, Project: "bench", Domain: domain,
					TaskRef: registrar.Ref{Project: "bench", Name: "noop", Version: strings.Repeat("a", 40)},
					Task:    registrar.Task{Image: taskImage, Command: []string{"true"}},
					Inputs:  executor.Values{}, Outputs: executor.Interface{},
					Limits: executor.Limits{MilliCPU: 100, MemoryBytes: 64 << 20}, DataRepo: store.ExecutionRepo("bench", "development"),
				})
				if err != nil {
					errs <- err
				}
			}(k)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// attemptFor is one attempt of an inline sh task, outside any workflow.
func attemptFor(node, image, script string, timeout time.Duration) executor.Attempt {
	return executor.Attempt{
		ExecutionID: executor.NewID(time.Now()), NodeID: node, Number: 1, Project: "faults", Domain: domain,
		TaskRef: registrar.Ref{Project: "faults", Name: node, Version: strings.Repeat("b", 40)},
		Task:    registrar.Task{Image: image, Command: []string{"sh", "-c", script}},
		Inputs:  executor.Values{}, Outputs: executor.Interface{}, Timeout: timeout,
		Limits:   executor.Limits{MilliCPU: 100, MemoryBytes: 64 << 20},
		DataRepo: store.ExecutionRepo("faults", "development"),
	}
}

// Failures that only the cluster can cause are classified: a refused
// image pull once the grace period is over, a container OOM-killed at its
// memory limit, the Job's deadline, an
// eviction through the Eviction API and a deleted pod.
func TestIntegrationFailuresClassified(t *testing.T) {
	ctx := context.Background()
	r, err := New(admin, "file://"+t.TempDir(), WithPlatform(testPlatform(true, nil)), WithNamespaceTemplate("{project}-{domain}"),
		WithImagePullGrace(time.Second), WithDeadlineSlack(0))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ns, _ := r.Namespace("faults", domain)
	podOf := func(a executor.Attempt) *corev1.Pod {
		var pod *corev1.Pod
		eventually(t, time.Minute, "the attempt's pod to run", func() bool {
			for _, p := range executionPods(t, ns, a.ExecutionID) {
				if p.Status.Phase == corev1.PodRunning {
					pod = &p
					return true
				}
			}
			return false
		})
		return pod
	}
	unpullable := unpullablePrefix + "task@sha256:" + strings.Repeat("2", 64)
	tests := []struct {
		name    string
		attempt executor.Attempt
		disrupt func(executor.Attempt)
		reason  executor.Reason
		kind    executor.FailureKind
		msg     string
	}{
		{name: "image pull", attempt: attemptFor("pull", unpullable, "true", 0),
			reason: ReasonImagePull, kind: executor.SystemFailure, msg: "ImagePullBackOff"},
		{name: "OOMKilled", attempt: func() executor.Attempt {
			a := attemptFor("oom", taskImage, "python3 -c 'b = bytearray(400 << 20); print(len(b))'", 0)
			a.Limits.MemoryBytes = 128 << 20
			return a
		}(), reason: executor.ReasonOOMKilled, kind: executor.UserFailure, msg: "memory limit of 128Mi"},
		{name: "deadline", attempt: attemptFor("deadline", taskImage, "sleep 30", time.Second),
			reason: executor.ReasonTimeout, kind: executor.UserFailure},
		{name: "evicted", attempt: attemptFor("evicted", taskImage, "sleep 30", 0),
			disrupt: func(a executor.Attempt) {
				p := podOf(a)
				err := admin.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns}})
				if err != nil {
					t.Errorf("evicting: %v", err)
				}
			},
			reason: ReasonEvicted, kind: executor.SystemFailure, msg: "EvictionByEvictionAPI"},
		{name: "pod deleted", attempt: attemptFor("deleted", taskImage, "sleep 30", 0),
			disrupt: func(a executor.Attempt) {
				p := podOf(a)
				if err := admin.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
					t.Errorf("deleting: %v", err)
				}
			},
			reason: ReasonDeleted, kind: executor.SystemFailure, msg: "deleted before it finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.disrupt != nil {
				go tt.disrupt(tt.attempt)
			}
			start := time.Now()
			_, err := r.Run(ctx, tt.attempt)
			te := executor.AsTaskError(err)
			if te.Reason != tt.reason || te.Kind != tt.kind || !strings.Contains(te.Message, tt.msg) {
				t.Fatalf("got %v, want a %s %s failure mentioning %q", err, tt.kind, tt.reason, tt.msg)
			}
			t.Logf("%s after %s: %s", te.Reason, time.Since(start).Round(time.Millisecond), te.Message)
			if tt.reason == ReasonImagePull {
				if time.Since(start) < time.Second {
					t.Errorf("the pull failure was reported before the grace period ended")
				}
				eventually(t, time.Minute, "the Job to be deleted", func() bool { return len(executionJobs(t, ns, tt.attempt.ExecutionID)) == 0 })
			}
		})
	}
}

// An eviction is a system failure: the engine runs the node again and
// the second attempt, a new Job, succeeds.
func TestIntegrationEvictionIsRetried(t *testing.T) {
	ctx := context.Background()
	pc := testPlatform(true, nil)
	f := newKFix(t, "", smallProject, "evict", pc, "")
	ns := f.namespace()
	gate := filepath.Join(t.TempDir(), "gate")
	ex, err := f.engine.Launch(ctx, executor.Request{Target: f.id(registrar.KindTask, "gate"), Inputs: map[string]any{"gate": gate, "n": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *executor.Execution, 1)
	go func() {
		final, err := f.engine.Execute(ctx, ex, nil)
		if err != nil {
			t.Error(err)
		}
		done <- final
	}()
	eventually(t, time.Minute, "the first attempt to run", func() bool { return runningPods(t, ns, ex.ID) == 1 })
	pod := executionPods(t, ns, ex.ID)[0]
	if err := admin.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: ns}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "a second attempt's Job", func() bool { return len(executionJobs(t, ns, ex.ID)) == 2 })
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	final := <-done
	n := final.Node("gate")
	if final.Status != executor.StatusSucceeded || n.Attempts != 2 || n.Outputs["n"].Scalar != int64(4) {
		t.Fatalf("status %s, attempts %d, outputs %v; want succeeded on attempt 2", final.Status, n.Attempts, n.Outputs)
	}
}

// Registry credentials reach exec-task as a mounted docker config and the
// pod as an image pull secret, and appear nowhere else: not in the Job,
// not in the runner's log.
func TestIntegrationRegistryCredentials(t *testing.T) {
	ctx := context.Background()
	const token = "c2VjcmV0LXRva2VuLWZvci10aGUtdGVzdA=="
	config := []byte(`{"auths":{"registry.invalid":{"auth":"` + token + `"}}}`)
	logs := &syncBuffer{}
	r, err := New(admin, "file://"+t.TempDir(), WithPlatform(testPlatform(true, nil)), WithNamespaceTemplate("{project}-{domain}"),
		WithDockerConfig(config), WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The task reports a hash of the docker config it sees, so that the
	// credential is not in its command either.
	a := attemptFor("creds", taskImage, `sha256sum "$DOCKER_CONFIG/config.json" | cut -c1-64 > "$RUNWAY_OUTPUTS/seen"`, 0)
	a.Project, a.Outputs = "creds", executor.Interface{"seen": executor.TypeString}
	res, err := r.Run(ctx, a)
	if err != nil {
		t.Fatalf("the task could not read the docker config: %v", err)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(config)); res.Outputs["seen"].Scalar != want {
		t.Fatalf("the task saw a docker config with sha256 %v, want %s", res.Outputs["seen"].Scalar, want)
	}
	ns, _ := r.Namespace("creds", domain)
	jobs := executionJobs(t, ns, a.ExecutionID)
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs", len(jobs))
	}
	raw, _ := json.Marshal(jobs[0])
	if strings.Contains(string(raw), token) {
		t.Error("the Job carries the registry credential")
	}
	if ps := jobs[0].Spec.Template.Spec.ImagePullSecrets; len(ps) != 1 || ps[0].Name != RegistrySecretName {
		t.Errorf("image pull secrets %v", ps)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the runner logged the registry credential")
	}
	sec, err := admin.CoreV1().Secrets(ns).Get(ctx, RegistrySecretName, metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("registry secret: %v %v", err, sec)
	}
}
