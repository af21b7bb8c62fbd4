package kubernetes

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/platform"
)

// containerResources turns an attempt's resources into the container's
// requests and limits:
//
//   - cpu and memory limits are the attempt's Limits (the engine already
//     applied the domain's default and clamped them to its ceiling);
//   - a request is the task's, else the domain's default request, else
//     equal to the limit (so a namespace quota on requests counts it);
//   - a request above the domain's ceiling or above its limit is refused,
//     naming the resource and both amounts: Kubernetes would refuse the
//     pod anyway, later and less clearly;
//   - other resources (ephemeral-storage, extended resources) are passed
//     through from the task, checked against a ceiling when there is one.
func containerResources(a executor.Attempt, dom *platform.Domain) (corev1.ResourceRequirements, error) {
	rr := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	if a.Limits.MilliCPU > 0 {
		rr.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(a.Limits.MilliCPU, resource.DecimalSI)
	}
	if a.Limits.MemoryBytes > 0 {
		rr.Limits[corev1.ResourceMemory] = *resource.NewQuantity(a.Limits.MemoryBytes, resource.BinarySI)
	}
	var ceilings, defReq map[string]string
	if dom != nil {
		ceilings, defReq = dom.Ceilings, dom.Defaults.Requests
	}
	names := map[string]bool{"cpu": true, "memory": true}
	for n := range a.Task.Resources.Requests {
		names[n] = true
	}
	for n := range a.Task.Resources.Limits {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		rn := corev1.ResourceName(n)
		var ceiling *resource.Quantity
		if s, ok := ceilings[n]; ok {
			q, err := resource.ParseQuantity(s)
			if err != nil {
				return rr, fmt.Errorf("domain %s ceiling %s %q: %w", a.Domain, n, s, err)
			}
			ceiling = &q
		}
		if n != "cpu" && n != "memory" {
			if s, ok := a.Task.Resources.Limits[n]; ok {
				q, err := resource.ParseQuantity(s)
				if err != nil {
					return rr, fmt.Errorf("task limit %s %q: %w", n, s, err)
				}
				if ceiling != nil && q.Cmp(*ceiling) > 0 {
					return rr, fmt.Errorf("task limit %s %s is above the %s domain's ceiling %s", n, q.String(), a.Domain, ceiling.String())
				}
				rr.Limits[rn] = q
			}
		}
		src, reqStr := "task", a.Task.Resources.Requests[n]
		if reqStr == "" {
			src, reqStr = "domain default", defReq[n]
		}
		if reqStr == "" {
			if l, ok := rr.Limits[rn]; ok {
				rr.Requests[rn] = l
			}
			continue
		}
		q, err := resource.ParseQuantity(reqStr)
		if err != nil {
			return rr, fmt.Errorf("%s request %s %q: %w", src, n, reqStr, err)
		}
		if ceiling != nil && q.Cmp(*ceiling) > 0 {
			return rr, fmt.Errorf("%s request %s %s is above the %s domain's ceiling %s", src, n, q.String(), a.Domain, ceiling.String())
		}
		if l, ok := rr.Limits[rn]; ok && q.Cmp(l) > 0 {
			if src == "task" {
				return rr, fmt.Errorf("task request %s %s is above its limit %s", n, q.String(), l.String())
			}
			q = l // a domain default never pushes a request past the task's limit
		}
		rr.Requests[rn] = q
	}
	if len(rr.Requests) == 0 {
		rr.Requests = nil
	}
	if len(rr.Limits) == 0 {
		rr.Limits = nil
	}
	return rr, nil
}
