//go:build integration

package kubernetes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
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
