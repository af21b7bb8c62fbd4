package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
)

// fakeRunner is a runner on client-go's fake clientset, in a namespace
// that exists.
func fakeRunner(t *testing.T, opts ...Option) (*Runner, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fraud-detection-development"}})
	cfg := platform.Default()
	cfg.Domains[0] = *testDomain()
	r, err := New(cs, "registry.example/runway", append([]Option{WithPlatform(cfg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, cs
}

// waitJob waits until the runner created its Job.
func waitJob(t *testing.T, cs *fake.Clientset, ns, name string) *batchv1.Job {
	t.Helper()
	var job *batchv1.Job
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		job = j
		return true, nil
	})
	if err != nil {
		t.Fatalf("Job %s/%s was not created: %v", ns, name, err)
	}
	return job
}

// finishPod plays the Job controller and kubelet on the fake clientset: it
// creates the Job's pod in its final state.
func finishPod(t *testing.T, cs *fake.Clientset, job *batchv1.Job, mod func(*corev1.Pod)) {
	t.Helper()
	p := testPod(mod)
	p.Name, p.Namespace = job.Name+"-x1", job.Namespace
	p.Labels = map[string]string{kubenames.LabelManagedBy: kubenames.ManagedByValue, jobNameLabel: job.Name}
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID}}
	if _, err := cs.CoreV1().Pods(job.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestRunFake(t *testing.T) {
	ok := `{"outputs":{"dataset":{"type":"file","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":12}},"duration":1500000000}`
	tests := []struct {
		name    string
		pod     func(*corev1.Pod)
		event   string
		wantErr string
		reason  executor.Reason
	}{
		{name: "success", pod: terminatedWith(0, "Completed", ok)},
		{name: "oom", pod: terminatedWith(137, "OOMKilled", ""), reason: executor.ReasonOOMKilled, wantErr: "512Mi"},
		{name: "quota", event: quotaMsg, reason: ReasonQuota, wantErr: "runway-quota"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, cs := fakeRunner(t)
			a := testAttempt()
			type ret struct {
				res *executor.AttemptResult
				err error
			}
			done := make(chan ret, 1)
			go func() {
				res, err := r.Run(context.Background(), a)
				done <- ret{res, err}
			}()
			job := waitJob(t, cs, "fraud-detection-development", JobName(a.ExecutionID, a.NodeID, a.Number))
			if tt.pod != nil {
				finishPod(t, cs, job, tt.pod)
			}
			if tt.event != "" {
				ev := failedCreate(tt.event, 1)
				ev.InvolvedObject.UID, ev.Namespace = job.UID, job.Namespace
				if _, err := cs.CoreV1().Events(job.Namespace).Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			var got ret
			select {
			case got = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			if tt.reason == "" {
				if got.err != nil {
					t.Fatal(got.err)
				}
				if d := got.res.Outputs["dataset"].Digest; !strings.HasPrefix(d, "sha256:bbbb") || got.res.Duration != 1500*time.Millisecond {
					t.Errorf("result %+v", got.res)
				}
				return
			}
			te := executor.AsTaskError(got.err)
			if te.Reason != tt.reason || !strings.Contains(te.Message, tt.wantErr) {
				t.Errorf("got %v, want %s containing %q", got.err, tt.reason, tt.wantErr)
			}
			if tt.reason == ReasonQuota {
				if !errors.Is(got.err, ErrQuota) {
					t.Errorf("%v does not wrap ErrQuota", got.err)
				}
				if _, err := cs.BatchV1().Jobs(job.Namespace).Get(context.Background(), job.Name, metav1.GetOptions{}); err == nil {
					t.Error("the refused Job was not deleted")
				}
			}
		})
	}
}

// A Job that exists (runway restarted) is adopted, not created again.
func TestRunAdoptsExistingJob(t *testing.T) {
	r, cs := fakeRunner(t)
	a := testAttempt()
	job, err := renderJob(a, "fraud-detection-development", testDomain(), r.job)
	if err != nil {
		t.Fatal(err)
	}
	job.UID = "existing-uid"
	if _, err := cs.BatchV1().Jobs(job.Namespace).Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs.ClearActions()
	finishPod(t, cs, job, terminatedWith(0, "Completed", `{"outputs":{},"duration":1}`))
	if _, err := r.Run(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, act := range cs.Actions() {
		if act.GetVerb() == "create" && act.GetResource().Resource == "jobs" {
			creates++
		}
	}
	if creates != 1 { // the refused create; no second Job
		t.Errorf("%d Job creates, want 1 (refused with AlreadyExists)", creates)
	}
	jobs, _ := cs.BatchV1().Jobs(job.Namespace).List(context.Background(), metav1.ListOptions{})
	if len(jobs.Items) != 1 || jobs.Items[0].UID != "existing-uid" {
		t.Errorf("jobs after adoption: %d", len(jobs.Items))
	}
}

// A Job of the same name that belongs to another attempt is not adopted.
func TestRunRefusesForeignJob(t *testing.T) {
	r, cs := fakeRunner(t)
	a := testAttempt()
	job, _ := renderJob(a, "fraud-detection-development", testDomain(), r.job)
	job.Labels[kubenames.LabelExecution] = "01aaaaaaaaaaaa"
	if _, err := cs.BatchV1().Jobs(job.Namespace).Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := r.Run(context.Background(), a)
	if te := executor.AsTaskError(err); !te.Permanent || !strings.Contains(te.Message, "belongs to another attempt") {
		t.Errorf("got %v", err)
	}
}

// Cancelling the attempt deletes its Job with background propagation.
func TestRunCancelDeletesJob(t *testing.T) {
	r, cs := fakeRunner(t)
	a := testAttempt()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.Run(ctx, a); done <- err }()
	job := waitJob(t, cs, "fraud-detection-development", JobName(a.ExecutionID, a.NodeID, a.Number))
	cancel()
	err := <-done
	if te := executor.AsTaskError(err); te.Reason != executor.ReasonAborted {
		t.Errorf("got %v, want Aborted", err)
	}
	var propagation metav1.DeletionPropagation
	for _, act := range cs.Actions() {
		if d, ok := act.(k8stesting.DeleteAction); ok && d.GetName() == job.Name {
			if d.GetDeleteOptions().PropagationPolicy != nil {
				propagation = *d.GetDeleteOptions().PropagationPolicy
			}
		}
	}
	if propagation != metav1.DeletePropagationBackground {
		t.Errorf("Job deleted with propagation %q, want Background", propagation)
	}
}

// Bad configuration is refused with a clear error, never a panic.
func TestNewRefuses(t *testing.T) {
	cs := fake.NewClientset()
	tests := []struct {
		name  string
		store string
		opt   Option
		want  string
	}{
		{"no store", "", nil, "store reference is required"},
		{"bad template", "r", WithNamespaceTemplate("{project}_{domain}"), "must consist of lower case"},
		{"unpinned default image", "r", WithDefaultImage("busybox:latest"), "not pinned by digest"},
		{"root user", "r", WithRunAsUser(0), "non-root"},
		{"empty exec-task", "r", WithExecTask(), "empty"},
		{"empty docker config", "r", WithDockerConfig(nil), "empty docker config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			_, err := New(cs, tt.store, opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(nil, "r"); err == nil {
		t.Error("nil client accepted")
	}
}
