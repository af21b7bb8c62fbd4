package kubernetes

import (
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func testJob(conds ...batchv1.JobCondition) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "01jdk3m9x2q7fz-prep-1", Namespace: "p-d", UID: "job-uid"},
		Spec:       batchv1.JobSpec{ActiveDeadlineSeconds: ptrTo[int64](720)},
		Status:     batchv1.JobStatus{Conditions: conds},
	}
}

func ptrTo[T any](v T) *T { return &v }

func cond(t batchv1.JobConditionType, reason string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: "m"}
}

func testPod(mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "01jdk3m9x2q7fz-prep-1-abcde", Namespace: "p-d"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: containerName, Image: testImage, Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: containerName, Image: testImage}}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func terminatedWith(code int32, reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodSucceeded
		if code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}
	}
}

func waitingWith(reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "pull access denied"}}
	}
}

func failedCreate(msg string, count int32) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e", Namespace: "p-d"},
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "01jdk3m9x2q7fz-prep-1", UID: "job-uid"},
		Reason:         "FailedCreate", Message: msg, Count: count, LastTimestamp: metav1.NewTime(t0),
	}
}

const quotaMsg = `Error creating: pods "01jdk3m9x2q7fz-prep-1-x7k2p" is forbidden: exceeded quota: runway-quota, requested: limits.memory=1Gi, used: limits.memory=0, limited: limits.memory=256Mi`

func TestEvaluate(t *testing.T) {
	ok := `{"outputs":{"n":{"type":"int","value":3}},"duration":1000000}`
	userFail := `{"failure":{"kind":"user","reason":"ExitCode","message":"command exited 3","exitCode":3},"duration":5}`
	tests := []struct {
		name      string
		job       *batchv1.Job
		pods      []*corev1.Pod
		events    []*corev1.Event
		st        watchState
		now       time.Time
		done      bool
		reason    executor.Reason
		kind      executor.FailureKind
		permanent bool
		stop      bool
		msg       string
		recheck   bool
	}{
		{name: "job not seen yet", job: nil},
		{name: "job deleted after it was seen", job: nil, st: watchState{sawJob: true}, done: true, reason: ReasonDeleted, kind: executor.SystemFailure, msg: "Job was deleted"},
		{name: "pending pod", job: testJob(), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending })}},
		{name: "running", job: testJob(), pods: []*corev1.Pod{testPod(nil)}},
		{name: "succeeded with result", job: testJob(cond(batchv1.JobComplete, "")), pods: []*corev1.Pod{testPod(terminatedWith(0, "Completed", ok))}, done: true},
		{name: "task failed, result says why", job: testJob(cond(batchv1.JobFailed, "BackoffLimitExceeded")), pods: []*corev1.Pod{testPod(terminatedWith(1, "Error", userFail))}, done: true, reason: executor.ReasonExitCode, kind: executor.UserFailure, msg: "command exited 3"},
		{name: "OOMKilled", job: testJob(), pods: []*corev1.Pod{testPod(terminatedWith(137, "OOMKilled", ""))}, done: true, reason: executor.ReasonOOMKilled, kind: executor.UserFailure, msg: "memory limit of 512Mi"},
		{name: "OOMKilled with a failure result", job: testJob(), pods: []*corev1.Pod{testPod(terminatedWith(1, "OOMKilled", userFail))}, done: true, reason: executor.ReasonOOMKilled, kind: executor.UserFailure},
		{name: "result cut off at the kubelet's limit", job: testJob(), pods: []*corev1.Pod{testPod(terminatedWith(0, "Completed", `{"outputs":{"s":{"type":"string","value":"`+strings.Repeat("x", 4096-40)))}, done: true, reason: ReasonNoResult, kind: executor.SystemFailure, permanent: true, msg: "larger than the 4096 bytes"},
		{name: "exit without result", job: testJob(), pods: []*corev1.Pod{testPod(terminatedWith(2, "Error", "panic: boom"))}, done: true, reason: ReasonNoResult, kind: executor.SystemFailure, msg: "exited 2"},
		{name: "evicted", job: testJob(), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) {
			p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", "The node was low on resource: memory."
		})}, done: true, reason: ReasonEvicted, kind: executor.SystemFailure, msg: "low on resource"},
		{name: "disruption target", job: testJob(), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}}
		})}, done: true, reason: ReasonEvicted, kind: executor.SystemFailure, msg: "EvictionByEvictionAPI"},
		{name: "pod being deleted, job may still say why", job: testJob(), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} })}, recheck: true},
		{name: "pod being deleted", job: testJob(), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} })}, st: watchState{goneSince: t0.Add(-goneSettle)}, done: true, reason: ReasonDeleted, kind: executor.SystemFailure},
		{name: "pod deleted for the deadline", job: testJob(cond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded)), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0} })}, st: watchState{goneSince: t0.Add(-time.Second)}, done: true, reason: executor.ReasonTimeout, kind: executor.UserFailure},
		{name: "pod deleted, container stopped", job: testJob(), pods: []*corev1.Pod{testPod(func(p *corev1.Pod) {
			terminatedWith(137, "Error", "")(p)
			p.DeletionTimestamp = &metav1.Time{Time: t0}
		})}, st: watchState{goneSince: t0.Add(-goneSettle)}, done: true, reason: ReasonDeleted, kind: executor.SystemFailure, msg: "exit code 137"},
		{name: "pod gone, job failed for it", job: testJob(cond(batchv1.JobFailed, "BackoffLimitExceeded")), st: watchState{sawPod: true, goneSince: t0.Add(-goneSettle)}, done: true, reason: ReasonDeleted, kind: executor.SystemFailure},
		{name: "pod gone, job may still say why", job: testJob(), st: watchState{sawPod: true}, recheck: true},
		{name: "pod gone", job: testJob(), st: watchState{sawPod: true, goneSince: t0.Add(-goneSettle)}, done: true, reason: ReasonDeleted, kind: executor.SystemFailure, msg: "pod of Job"},
		{name: "deadline", job: testJob(cond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded)), pods: []*corev1.Pod{testPod(nil)}, done: true, reason: executor.ReasonTimeout, kind: executor.UserFailure, msg: "activeDeadlineSeconds (720s"},
		{name: "image pull within grace", job: testJob(), pods: []*corev1.Pod{testPod(waitingWith("ImagePullBackOff"))}, now: t0, recheck: true},
		{name: "image pull past grace", job: testJob(), pods: []*corev1.Pod{testPod(waitingWith("ErrImagePull"))}, st: watchState{pullSince: t0.Add(-3 * time.Minute)}, now: t0, done: true, reason: ReasonImagePull, kind: executor.SystemFailure, stop: true, msg: "pull access denied"},
		{name: "invalid image name", job: testJob(), pods: []*corev1.Pod{testPod(waitingWith("InvalidImageName"))}, done: true, reason: ReasonImagePull, kind: executor.SystemFailure, permanent: true},
		{name: "quota over hard limit", job: testJob(), events: []*corev1.Event{failedCreate(quotaMsg, 1)}, done: true, reason: ReasonQuota, kind: executor.UserFailure, permanent: true, stop: true, msg: `resource quota "runway-quota" refused the task's pod: requested limits.memory=1Gi, already used limits.memory=0, limited to limits.memory=256Mi`},
		{name: "quota full for now", job: testJob(), events: []*corev1.Event{failedCreate(`Error creating: pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`, 1)}, done: true, reason: ReasonQuota, kind: executor.SystemFailure, stop: true},
		{name: "quota status unknown", job: testJob(), events: []*corev1.Event{failedCreate(`Error creating: pods "x" is forbidden: status unknown for quota: q, resource: limits.memory`, 9)}},
		{name: "limit range", job: testJob(), events: []*corev1.Event{failedCreate(`Error creating: pods "x" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi`, 1)}, done: true, reason: ReasonLimitRange, kind: executor.UserFailure, permanent: true, stop: true},
		{name: "pod security", job: testJob(), events: []*corev1.Event{failedCreate(`Error creating: pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`, 1)}, done: true, reason: ReasonPodSec, kind: executor.SystemFailure, permanent: true, stop: true},
		{name: "other refusal, transient", job: testJob(), events: []*corev1.Event{failedCreate(`Error creating: serviceaccount "default" not found`, 2)}},
		{name: "other refusal, persistent", job: testJob(), events: []*corev1.Event{failedCreate(`Error creating: serviceaccount "default" not found`, 5)}, done: true, reason: ReasonRefused, kind: executor.SystemFailure, stop: true},
		{name: "event of another job", job: testJob(), events: []*corev1.Event{func() *corev1.Event { e := failedCreate(quotaMsg, 1); e.InvolvedObject.UID = "other"; return e }()}},
		{name: "complete but pod gone", job: testJob(cond(batchv1.JobComplete, "")), done: true, reason: ReasonNoResult, kind: executor.SystemFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			st := tt.st
			o := evaluate(tt.job, tt.pods, tt.events, &st, 2*time.Minute, now)
			if o.done != tt.done || o.stop != tt.stop || (!o.recheck.IsZero()) != tt.recheck {
				t.Fatalf("done=%v stop=%v recheck=%v err=%v; want done=%v stop=%v recheck=%v", o.done, o.stop, o.recheck, o.err, tt.done, tt.stop, tt.recheck)
			}
			if !tt.done {
				return
			}
			if tt.reason == "" {
				if o.err != nil || o.result == nil {
					t.Fatalf("want success, got %v", o.err)
				}
				return
			}
			var te *executor.TaskError
			if !errors.As(o.err, &te) {
				t.Fatalf("error %v is not a *TaskError", o.err)
			}
			if te.Reason != tt.reason || te.Kind != tt.kind || te.Permanent != tt.permanent || !strings.Contains(te.Message, tt.msg) {
				t.Errorf("got %s/%s permanent=%v %q; want %s/%s permanent=%v containing %q", te.Kind, te.Reason, te.Permanent, te.Message, tt.kind, tt.reason, tt.permanent, tt.msg)
			}
			if tt.reason == ReasonQuota {
				var qe *QuotaError
				if !errors.Is(o.err, ErrQuota) || !errors.As(o.err, &qe) || qe.Quota == "" {
					t.Errorf("quota failure %v does not wrap ErrQuota and a *QuotaError", o.err)
				}
			}
		})
	}
}

func TestParseQuotaRefusal(t *testing.T) {
	qe, ok := parseQuotaRefusal("ns", `pods "x" is forbidden: exceeded quota: compute, requested: limits.cpu=2,limits.memory=1Gi, used: limits.cpu=1,limits.memory=512Mi, limited: limits.cpu=4,limits.memory=1Gi`)
	if !ok {
		t.Fatal("not recognised")
	}
	if qe.Quota != "compute" || qe.Requested["limits.cpu"] != "2" || qe.Used["limits.memory"] != "512Mi" || qe.Limited["limits.memory"] != "1Gi" || qe.Permanent {
		t.Errorf("parsed %+v", qe)
	}
	if _, ok := parseQuotaRefusal("ns", "something else"); ok {
		t.Error("a non-quota message was recognised")
	}
}
