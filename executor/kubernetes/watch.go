package kubernetes

import (
	"context"
	"fmt"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/runway-ci/runway/internal/kubenames"
)

const (
	byJob          = "job"
	jobNameLabel   = "batch.kubernetes.io/job-name"
	legacyJobLabel = "job-name"
)

// nsWatch holds the informers of one namespace: runway's Jobs, their pods
// and the FailedCreate events about Jobs. Every change wakes the attempts
// waiting on the Job it concerns; attempts then read the caches. Nothing
// polls the apiserver.
type nsWatch struct {
	jobs, pods, events cache.SharedIndexInformer
	stop               chan struct{}

	mu      sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
}

func newNSWatch(client kubernetes.Interface, ns string) (*nsWatch, error) {
	w := &nsWatch{stop: make(chan struct{}), waiters: map[string]map[chan struct{}]struct{}{}}
	own := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = kubenames.LabelManagedBy + "=" + kubenames.ManagedByValue
		}))
	evf := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.AndSelectors(
				fields.OneTermEqualSelector("involvedObject.kind", "Job"),
				fields.OneTermEqualSelector("reason", "FailedCreate"),
			).String()
		}))
	w.jobs = own.Batch().V1().Jobs().Informer()
	w.pods = own.Core().V1().Pods().Informer()
	w.events = evf.Core().V1().Events().Informer()
	if err := w.pods.AddIndexers(cache.Indexers{byJob: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		if n := p.Labels[jobNameLabel]; n != "" {
			return []string{n}, nil
		}
		if n := p.Labels[legacyJobLabel]; n != "" {
			return []string{n}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("indexing pods: %w", err)
	}
	if err := w.events.AddIndexers(cache.Indexers{byJob: func(obj any) ([]string, error) {
		if e, ok := obj.(*corev1.Event); ok {
			return []string{e.InvolvedObject.Name}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("indexing events: %w", err)
	}
	jobName := func(obj any) string {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		switch o := obj.(type) {
		case *batchv1.Job:
			return o.Name
		case *corev1.Pod:
			if n := o.Labels[jobNameLabel]; n != "" {
				return n
			}
			return o.Labels[legacyJobLabel]
		case *corev1.Event:
			return o.InvolvedObject.Name
		}
		return ""
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.wake(jobName(obj)) },
		UpdateFunc: func(_, obj any) { w.wake(jobName(obj)) },
		DeleteFunc: func(obj any) { w.wake(jobName(obj)) },
	}
	for _, inf := range []cache.SharedIndexInformer{w.jobs, w.pods, w.events} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("watching namespace %s: %w", ns, err)
		}
	}
	own.Start(w.stop)
	evf.Start(w.stop)
	return w, nil
}

// synced waits until the caches hold the namespace's current state.
func (w *nsWatch) synced(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), w.jobs.HasSynced, w.pods.HasSynced, w.events.HasSynced)
}

// subscribe returns a channel that receives a value after any change to
// the Job's objects, and a function that ends the subscription.
func (w *nsWatch) subscribe(job string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.waiters[job] == nil {
		w.waiters[job] = map[chan struct{}]struct{}{}
	}
	w.waiters[job][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.waiters[job], ch)
		if len(w.waiters[job]) == 0 {
			delete(w.waiters, job)
		}
		w.mu.Unlock()
	}
}

func (w *nsWatch) wake(job string) {
	if job == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.waiters[job] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending; it will read the latest state
		}
	}
}

// state reads a Job, its pods and its events from the caches.
func (w *nsWatch) state(ns, job string) (*batchv1.Job, []*corev1.Pod, []*corev1.Event) {
	var j *batchv1.Job
	if obj, ok, _ := w.jobs.GetIndexer().GetByKey(ns + "/" + job); ok {
		j = obj.(*batchv1.Job)
	}
	var pods []*corev1.Pod
	objs, _ := w.pods.GetIndexer().ByIndex(byJob, job)
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if j != nil && !ownedBy(p.OwnerReferences, j) {
			continue // a pod of an earlier Job with the same name
		}
		pods = append(pods, p.DeepCopy())
	}
	var evs []*corev1.Event
	objs, _ = w.events.GetIndexer().ByIndex(byJob, job)
	for _, o := range objs {
		evs = append(evs, o.(*corev1.Event))
	}
	if j != nil {
		j = j.DeepCopy()
	}
	return j, pods, evs
}

func ownedBy(refs []metav1.OwnerReference, j *batchv1.Job) bool {
	for _, r := range refs {
		if r.UID == j.UID {
			return true
		}
	}
	return false
}
