//go:build integration

package nodetest

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor"
	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/registrar"
)

// faultsOnNode injects what a cluster does to a running task, on the real
// node: an image the registry does not have, an eviction through the
// Eviction API and a pod deleted while it runs. Each is classified the
// way the stand-in tier says it is.
func faultsOnNode(t *testing.T, e *env, image, plat string) {
	ctx := context.Background()
	pc, err := platform.Load(plat)
	if err != nil {
		t.Fatal(err)
	}
	r, err := kexec.New(e.admin, e.reg.Host+"/runway", kexec.WithPlatform(pc), kexec.WithImagePullGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ns, _ := r.Namespace("faults", "development")
	attempt := func(node, img string) executor.Attempt {
		return executor.Attempt{
			ExecutionID: executor.NewID(time.Now()), NodeID: node, Number: 1, Project: "faults", Domain: "development",
			TaskRef: registrar.Ref{Project: "faults", Name: node, Version: strings.Repeat("b", 40)},
			Task:    registrar.Task{Image: img, Command: []string{"python3", "-c", "import time; time.sleep(120)"}},
			Inputs:  executor.Values{}, Outputs: executor.Interface{},
			Limits:   executor.Limits{MilliCPU: 100, MemoryBytes: 64 << 20},
			DataRepo: "faults/development/execution",
		}
	}
	runningPod := func(t *testing.T, a executor.Attempt) *corev1.Pod {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			l, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(a.ExecutionID)})
			if err == nil {
				for i := range l.Items {
					if l.Items[i].Status.Phase == corev1.PodRunning {
						return &l.Items[i]
					}
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("the pod of %s did not run within 2m", a.NodeID)
		return nil
	}
	missing := e.reg.Host + "/runway/faults/none@sha256:" + strings.Repeat("2", 64)
	tests := []struct {
		name    string
		attempt executor.Attempt
		disrupt func(*testing.T, executor.Attempt)
		reason  executor.Reason
		kind    executor.FailureKind
		msg     string
	}{
		{name: "image not in the registry", attempt: attempt("pull", missing), reason: kexec.ReasonImagePull, kind: executor.SystemFailure},
		{name: "evicted", attempt: attempt("evicted", image), reason: kexec.ReasonEvicted, kind: executor.SystemFailure, msg: "Evict",
			disrupt: func(t *testing.T, a executor.Attempt) {
				if p := runningPod(t, a); p != nil {
					if err := e.admin.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns}}); err != nil {
						t.Errorf("evicting: %v", err)
					}
				}
			}},
		{name: "pod deleted", attempt: attempt("deleted", image), reason: kexec.ReasonDeleted, kind: executor.SystemFailure,
			disrupt: func(t *testing.T, a executor.Attempt) {
				if p := runningPod(t, a); p != nil {
					if err := e.admin.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
						t.Errorf("deleting: %v", err)
					}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				if tt.disrupt != nil {
					tt.disrupt(t, tt.attempt)
				}
			}()
			start := time.Now()
			rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			_, err := r.Run(rctx, tt.attempt)
			<-done
			te := executor.AsTaskError(err)
			if te.Reason != tt.reason || te.Kind != tt.kind || !strings.Contains(te.Message, tt.msg) {
				t.Fatalf("got %v, want a %s %s failure mentioning %q\nnode:\n%s", err, tt.kind, tt.reason, tt.msg, e.node.Diagnostics())
			}
			t.Logf("%s after %s: %s", te.Reason, time.Since(start).Round(time.Millisecond), te.Message)
		})
	}
}

// cancelOnNode cancels an attempt while its container runs: the runner
// deletes the Job, the garbage collector the pod, and the kubelet stops
// the container, so nothing of the attempt is left on the node.
func cancelOnNode(t *testing.T, e *env, image, plat string) {
	ctx := context.Background()
	pc, err := platform.Load(plat)
	if err != nil {
		t.Fatal(err)
	}
	r, err := kexec.New(e.admin, e.reg.Host+"/runway", kexec.WithPlatform(pc))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ns, _ := r.Namespace("faults", "development")
	a := executor.Attempt{
		ExecutionID: executor.NewID(time.Now()), NodeID: "cancel", Number: 1, Project: "faults", Domain: "development",
		TaskRef: registrar.Ref{Project: "faults", Name: "cancel", Version: strings.Repeat("c", 40)},
		Task:    registrar.Task{Image: image, Command: []string{"python3", "-c", "import time; time.sleep(300)"}},
		Inputs:  executor.Values{}, Outputs: executor.Interface{},
		Limits:   executor.Limits{MilliCPU: 100, MemoryBytes: 64 << 20},
		DataRepo: "faults/development/execution",
	}
	sel := metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(a.ExecutionID)}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := r.Run(rctx, a); done <- err }()
	running := false
	for deadline := time.Now().Add(2 * time.Minute); !running && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		l, _ := e.admin.CoreV1().Pods(ns).List(ctx, sel)
		running = len(l.Items) == 1 && l.Items[0].Status.Phase == corev1.PodRunning
	}
	if !running {
		cancel()
		<-done
		t.Fatal("the attempt's pod did not run within 2m")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled attempt succeeded")
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		jobs, _ := e.admin.BatchV1().Jobs(ns).List(ctx, sel)
		pods, _ := e.admin.CoreV1().Pods(ns).List(ctx, sel)
		if len(jobs.Items) == 0 && len(pods.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("90s after cancelling: %d Jobs and %d pods left", len(jobs.Items), len(pods.Items))
		}
	}
}
