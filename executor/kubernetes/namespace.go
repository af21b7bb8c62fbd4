package kubernetes

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
)

// Names of the objects runway manages in a namespace.
const (
	QuotaName          = "runway-quota"
	LimitRangeName     = "runway-limits"
	RegistrySecretName = "runway-registry"
)

// namespaceObjects renders what a managed namespace holds: the namespace
// (labelled for Pod Security "restricted"), a ResourceQuota from the
// domain's quota (none when it sets none) and a LimitRange whose max is
// the domain's ceilings and whose defaults are the domain's defaults.
//
// With hostNetwork (platform executor.hostNetwork, single-node development
// clusters only) the namespace enforces "privileged", the one level that
// admits a pod on the node's network, and still warns at "restricted".
func namespaceObjects(ns string, dom *platform.Domain, hostNetwork bool) (*corev1.Namespace, *corev1.ResourceQuota, *corev1.LimitRange, error) {
	labels := map[string]string{kubenames.LabelManagedBy: kubenames.ManagedByValue}
	enforce := "restricted"
	if hostNetwork {
		enforce = "privileged"
	}
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		kubenames.LabelManagedBy:             kubenames.ManagedByValue,
		"pod-security.kubernetes.io/enforce": enforce,
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	list := func(what string, m map[string]string) (corev1.ResourceList, error) {
		out := corev1.ResourceList{}
		for k, v := range m {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return nil, fmt.Errorf("domain %s %s %s %q: %w", dom.Name, what, k, v, err)
			}
			out[corev1.ResourceName(k)] = q
		}
		return out, nil
	}
	var quota *corev1.ResourceQuota
	if len(dom.Quota) > 0 {
		hard, err := list("quota", dom.Quota)
		if err != nil {
			return nil, nil, nil, err
		}
		quota = &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: QuotaName, Namespace: ns, Labels: labels},
			Spec:       corev1.ResourceQuotaSpec{Hard: hard},
		}
	}
	maxes, err := list("ceiling", dom.Ceilings)
	if err != nil {
		return nil, nil, nil, err
	}
	defLimits, err := list("default limit", dom.Defaults.Limits)
	if err != nil {
		return nil, nil, nil, err
	}
	defReqs, err := list("default request", dom.Defaults.Requests)
	if err != nil {
		return nil, nil, nil, err
	}
	item := corev1.LimitRangeItem{Type: corev1.LimitTypeContainer}
	if len(maxes) > 0 {
		item.Max = maxes
	}
	if len(defLimits) > 0 {
		item.Default = defLimits
	}
	if len(defReqs) > 0 {
		item.DefaultRequest = defReqs
	}
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: LimitRangeName, Namespace: ns, Labels: labels},
		Spec:       corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{item}},
	}
	return n, quota, lr, nil
}

// ensureNamespace makes the namespace ready for Jobs. When the platform
// lets runway manage the domain's namespace, it is created if missing and
// its quota and LimitRange are created or brought in line with the
// platform config. Otherwise the namespace must exist.
func (r *Runner) ensureNamespace(ctx context.Context, ns string, dom *platform.Domain) error {
	r.mu.Lock()
	done := r.readyNS[ns]
	r.mu.Unlock()
	if done {
		return nil
	}
	if dom == nil || !dom.ManageNamespace {
		if _, err := r.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("namespace %s does not exist and the platform does not let runway create it (domains[].manageNamespace): %w", ns, err)
			}
			// Without the right to read namespaces, Job creation below
			// says whether the namespace is usable.
			if !apierrors.IsForbidden(err) {
				return fmt.Errorf("checking namespace %s: %w", ns, err)
			}
		}
	} else {
		n, quota, lr, err := namespaceObjects(ns, dom, r.job.hostNetwork)
		if err != nil {
			return err
		}
		if _, err := r.client.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
		if quota != nil {
			if err := applyQuota(ctx, r, quota); err != nil {
				return err
			}
		}
		if err := applyLimitRange(ctx, r, lr); err != nil {
			return err
		}
	}
	if r.dockerConfig != nil {
		if err := r.applyRegistrySecret(ctx, ns); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.readyNS[ns] = true
	r.mu.Unlock()
	return nil
}

func applyQuota(ctx context.Context, r *Runner, want *corev1.ResourceQuota) error {
	c := r.client.CoreV1().ResourceQuotas(want.Namespace)
	got, err := c.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && !equalResources(got.Spec.Hard, want.Spec.Hard):
		got.Spec.Hard = want.Spec.Hard
		_, err = c.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("applying resource quota %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

func applyLimitRange(ctx context.Context, r *Runner, want *corev1.LimitRange) error {
	c := r.client.CoreV1().LimitRanges(want.Namespace)
	got, err := c.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && !limitRangesEqual(got.Spec, want.Spec):
		got.Spec = want.Spec
		_, err = c.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("applying limit range %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

// applyRegistrySecret keeps the namespace's registry secret equal to the
// runner's docker config. Its bytes are only ever sent to the apiserver in
// the Secret itself: Jobs name the secret, nothing logs its content.
func (r *Runner) applyRegistrySecret(ctx context.Context, ns string) error {
	c := r.client.CoreV1().Secrets(ns)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: RegistrySecretName, Namespace: ns, Labels: map[string]string{kubenames.LabelManagedBy: kubenames.ManagedByValue}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: r.dockerConfig},
	}
	got, err := c.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && string(got.Data[corev1.DockerConfigJsonKey]) != string(r.dockerConfig):
		got.Data = want.Data
		_, err = c.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("applying registry secret %s/%s: %w", ns, want.Name, err)
	}
	return nil
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func limitRangesEqual(a, b corev1.LimitRangeSpec) bool {
	if len(a.Limits) != len(b.Limits) {
		return false
	}
	for i := range a.Limits {
		x, y := a.Limits[i], b.Limits[i]
		if x.Type != y.Type || !equalResources(x.Max, y.Max) || !equalResources(x.Default, y.Default) || !equalResources(x.DefaultRequest, y.DefaultRequest) {
			return false
		}
	}
	return true
}
