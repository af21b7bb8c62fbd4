package kubernetes

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
)

// outcome is what the watch learned about an attempt's Job.
type outcome struct {
	done   bool
	result *exectask.Result // success
	err    error            // failure (a *executor.TaskError in its chain)
	// stop: the Job must be deleted (it would otherwise keep trying).
	stop bool
	// recheck: evaluate again at this time even if nothing changes (the
	// image pull grace period ends).
	recheck time.Time
}

// watchState is what one attempt's watch remembers between evaluations.
type watchState struct {
	sawJob    bool
	sawPod    bool
	pullSince time.Time // first time an image pull error was seen
	goneSince time.Time // first time the pod was seen deleted or gone
}

// maxTerminationMessage is the kubelet's limit on one container's
// termination message, which carries exec-task's result.
const maxTerminationMessage = 4096

// goneSettle is how long a deleted pod is given before the attempt is
// failed as "pod deleted": the Job controller deletes the pods of a Job
// past its deadline right after marking the Job, and the Job's and the
// pods' watches deliver independently, so the reason may arrive second.
const goneSettle = 2 * time.Second

// gone classifies a pod that was deleted, once the Job had goneSettle to
// say why.
func gone(st *watchState, now time.Time, format string, a ...any) (outcome, bool) {
	if st.goneSince.IsZero() {
		st.goneSince = now
	}
	if now.Sub(st.goneSince) < goneSettle {
		return outcome{recheck: st.goneSince.Add(goneSettle)}, false
	}
	return failed(executor.SystemFailure, ReasonDeleted, false, format, a...), true
}

var pullErrors = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true,
	"RegistryUnavailable": true, "CreateContainerConfigError": true, "CreateContainerError": true,
}

func failed(kind executor.FailureKind, reason executor.Reason, permanent bool, format string, a ...any) outcome {
	return outcome{done: true, err: &executor.TaskError{Kind: kind, Reason: reason, Permanent: permanent, Message: fmt.Sprintf(format, a...)}}
}

// evaluate classifies the state of an attempt's Job from the informers'
// caches: the Job (nil when it does not exist), its pods and the
// FailedCreate events about it. It is pure apart from st, which it
// updates, so every failure class has a table test.
func evaluate(job *batchv1.Job, pods []*corev1.Pod, events []*corev1.Event, st *watchState, grace time.Duration, now time.Time) outcome {
	if job == nil {
		if st.sawJob {
			return failed(executor.SystemFailure, ReasonDeleted, false, "the Job was deleted before it finished")
		}
		return outcome{}
	}
	st.sawJob = true
	name := job.Namespace + "/" + job.Name

	if c := jobCondition(job, batchv1.JobFailed, batchv1.JobFailureTarget); c != nil && c.Reason == batchv1.JobReasonDeadlineExceeded {
		return failed(executor.UserFailure, executor.ReasonTimeout, false, "Job %s ran longer than its activeDeadlineSeconds (%ds: the task's timeout plus slack for pull, fetch and upload) and was stopped", name, deref(job.Spec.ActiveDeadlineSeconds))
	}

	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.After(pods[j].CreationTimestamp.Time) })
	if len(pods) > 0 {
		st.sawPod = true
		if o, final := evaluatePod(pods[0], st, grace, now); final || o.recheck != (time.Time{}) {
			return o
		}
	} else if st.sawPod && (jobCondition(job, batchv1.JobComplete) == nil || !st.goneSince.IsZero()) {
		// The pod vanished before its result was read: deleted (the Job
		// controller then fails the Job for its lost pod, which says
		// nothing more).
		o, _ := gone(st, now, "the pod of Job %s was deleted before it finished", name)
		return o
	}

	if c := jobCondition(job, batchv1.JobComplete, batchv1.JobFailed); c != nil {
		if len(pods) > 0 {
			return outcome{} // wait for the pod's terminated state to arrive
		}
		return failed(executor.SystemFailure, ReasonNoResult, false, "Job %s ended (%s: %s %s) but its pod, which carries the result, is gone", name, c.Type, c.Reason, c.Message)
	}

	if len(pods) == 0 {
		return evaluateEvents(job, events)
	}
	return outcome{}
}

// evaluatePod classifies one pod; final is false while it still runs.
func evaluatePod(p *corev1.Pod, st *watchState, grace time.Duration, now time.Time) (outcome, bool) {
	cs := containerStatus(p)
	if cs != nil && cs.State.Terminated != nil {
		o := terminated(p, cs.State.Terminated)
		if o.err != nil && p.DeletionTimestamp != nil {
			// Killed because the pod was deleted: say so, not "exit 137".
			return gone(st, now, "pod %s was deleted before it finished (its container was stopped with exit code %d)", p.Name, cs.State.Terminated.ExitCode)
		}
		return o, true
	}
	if p.Status.Reason == "Evicted" {
		return failed(executor.SystemFailure, ReasonEvicted, false, "pod %s was evicted: %s", p.Name, p.Status.Message), true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return failed(executor.SystemFailure, ReasonEvicted, false, "pod %s was disrupted (%s): %s", p.Name, c.Reason, c.Message), true
		}
	}
	if p.DeletionTimestamp != nil {
		return gone(st, now, "pod %s was deleted before it finished", p.Name)
	}
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return failed(executor.SystemFailure, ReasonNoResult, false, "pod %s ended (%s: %s %s) without a container status", p.Name, p.Status.Phase, p.Status.Reason, p.Status.Message), true
	}
	if cs != nil && cs.State.Waiting != nil {
		w := cs.State.Waiting
		if w.Reason == "InvalidImageName" {
			return failed(executor.SystemFailure, ReasonImagePull, true, "pod %s: image %q: %s: %s", p.Name, cs.Image, w.Reason, w.Message), true
		}
		if pullErrors[w.Reason] {
			if st.pullSince.IsZero() {
				st.pullSince = now
			}
			if now.Sub(st.pullSince) >= grace {
				o := failed(executor.SystemFailure, ReasonImagePull, false, "pod %s could not start its container for %s: image %q: %s: %s", p.Name, grace, cs.Image, w.Reason, w.Message)
				o.stop = true
				return o, true
			}
			return outcome{recheck: st.pullSince.Add(grace)}, false
		}
	}
	st.pullSince = time.Time{}
	return outcome{}, false
}

// terminated classifies a finished task container. exec-task writes its
// Result to the termination log, which the kubelet turns into the
// terminated state's message.
func terminated(p *corev1.Pod, t *corev1.ContainerStateTerminated) outcome {
	var res *exectask.Result
	if msg := strings.TrimSpace(t.Message); msg != "" {
		r := &exectask.Result{}
		if err := json.Unmarshal([]byte(msg), r); err == nil {
			res = r
		}
	}
	if res != nil && res.Failure == nil && t.ExitCode == exectask.ExitSucceeded {
		return outcome{done: true, result: res}
	}
	if t.Reason == "OOMKilled" {
		limit := "its memory limit"
		if c := taskContainer(p); c != nil {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				limit = "its memory limit of " + q.String()
			}
		}
		return outcome{done: true, err: &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonOOMKilled, ExitCode: int(t.ExitCode),
			Message: fmt.Sprintf("pod %s: the task was killed for using more memory than %s", p.Name, limit)}}
	}
	if res != nil && res.Failure != nil {
		f := *res.Failure
		f.Message += " (pod " + p.Name + ")"
		return outcome{done: true, err: &f}
	}
	if res == nil && len(t.Message) >= maxTerminationMessage {
		return failed(executor.SystemFailure, ReasonNoResult, true, "pod %s: exec-task's result is larger than the %d bytes a termination message holds and was cut off: scalar outputs this large belong in file outputs", p.Name, maxTerminationMessage)
	}
	if t.ExitCode == exectask.ExitUserFailure {
		return failed(executor.UserFailure, executor.ReasonExitCode, false, "pod %s: exec-task exited %d (%s) without a readable result", p.Name, t.ExitCode, t.Reason)
	}
	return failed(executor.SystemFailure, ReasonNoResult, false, "pod %s: exec-task exited %d (%s) without a readable result in its termination message", p.Name, t.ExitCode, t.Reason)
}

// evaluateEvents classifies the Job controller's FailedCreate events: pod
// creation refused by a quota, a LimitRange or Pod Security admission.
func evaluateEvents(job *batchv1.Job, events []*corev1.Event) outcome {
	sort.Slice(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	var unknown *corev1.Event
	for _, ev := range events {
		if ev.Reason != "FailedCreate" || ev.InvolvedObject.UID != job.UID {
			continue
		}
		msg := ev.Message
		if qe, ok := parseQuotaRefusal(job.Namespace, msg); ok {
			return outcome{done: true, stop: true, err: quotaFailure(qe)}
		}
		switch {
		case strings.Contains(msg, "status unknown for quota"):
			// The quota controller has not computed the quota's usage
			// yet; the Job controller retries.
		case strings.Contains(msg, "violates PodSecurity"):
			o := failed(executor.SystemFailure, ReasonPodSec, true, "namespace %s: Pod Security admission refused the task's pod: %s", job.Namespace, msg)
			o.stop = true
			return o
		case strings.Contains(msg, "per Container is") || strings.Contains(msg, "per Pod is") || strings.Contains(msg, "LimitRange"):
			o := failed(executor.UserFailure, ReasonLimitRange, true, "namespace %s: a LimitRange refused the task's pod: %s", job.Namespace, msg)
			o.stop = true
			return o
		default:
			unknown = ev
		}
	}
	if unknown != nil && unknown.Count >= 5 {
		o := failed(executor.SystemFailure, ReasonRefused, false, "namespace %s: creating the task's pod failed %d times: %s", job.Namespace, unknown.Count, unknown.Message)
		o.stop = true
		return o
	}
	return outcome{}
}

func eventTime(e *corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func jobCondition(j *batchv1.Job, types ...batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		c := &j.Status.Conditions[i]
		for _, t := range types {
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return c
			}
		}
	}
	return nil
}

func jobFinished(j *batchv1.Job) bool {
	return jobCondition(j, batchv1.JobComplete, batchv1.JobFailed) != nil
}

func containerStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == containerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func taskContainer(p *corev1.Pod) *corev1.Container {
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == containerName {
			return &p.Spec.Containers[i]
		}
	}
	return nil
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}
