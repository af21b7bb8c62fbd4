package kubernetes

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/executor"
)

// ErrQuota is wrapped by the error of an attempt whose pod a namespace
// ResourceQuota refused. executor has no such sentinel yet; callers
// branch on it with errors.Is, and errors.As finds the *QuotaError with
// the quota's name and amounts.
var ErrQuota = errors.New("refused by resource quota")

// Reasons this runner adds to executor's (they are executor.Reason values,
// so records and renderers show them like any other).
const (
	ReasonQuota      executor.Reason = "QuotaExceeded"
	ReasonLimitRange executor.Reason = "LimitRangeRefused"
	ReasonPodSec     executor.Reason = "PodSecurityRefused"
	ReasonImagePull  executor.Reason = "ImagePullFailed"
	ReasonEvicted    executor.Reason = "Evicted"
	ReasonDeleted    executor.Reason = "PodDeleted"
	ReasonNoResult   executor.Reason = "NoResult"
	ReasonRefused    executor.Reason = "PodCreateRefused"
)

// QuotaError is a quota refusal as the apiserver reported it.
type QuotaError struct {
	Namespace string
	Quota     string
	// Requested, Used and Limited map resource names ("limits.memory")
	// to quantities, as in the refusal.
	Requested, Used, Limited map[string]string
	// Permanent is true when the request alone exceeds the quota's hard
	// limit: waiting for other pods to finish cannot help.
	Permanent bool
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("namespace %s: resource quota %q refused the task's pod: requested %s, already used %s, limited to %s",
		e.Namespace, e.Quota, amounts(e.Requested), amounts(e.Used), amounts(e.Limited))
}

// Is makes errors.Is(err, ErrQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

func amounts(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// quotaRE matches the quota admission plugin's refusal:
// `exceeded quota: NAME, requested: R, used: U, limited: L`.
var quotaRE = regexp.MustCompile(`exceeded quota: ([^,]+), requested: (.*), used: (.*), limited: (.*)$`)

// parseQuotaRefusal reads a quota refusal message; ok is false when msg
// is not one.
func parseQuotaRefusal(namespace, msg string) (*QuotaError, bool) {
	m := quotaRE.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil {
		return nil, false
	}
	qe := &QuotaError{Namespace: namespace, Quota: m[1], Requested: kv(m[2]), Used: kv(m[3]), Limited: kv(m[4])}
	for k, r := range qe.Requested {
		rq, err1 := resource.ParseQuantity(r)
		lq, err2 := resource.ParseQuantity(qe.Limited[k])
		if err1 == nil && err2 == nil && rq.Cmp(lq) > 0 {
			qe.Permanent = true
		}
	}
	return qe, true
}

func kv(s string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			out[k] = v
		}
	}
	return out
}

// quotaFailure wraps a quota refusal so that errors.As finds both the
// *executor.TaskError the engine classifies by and the *QuotaError.
func quotaFailure(qe *QuotaError) error {
	kind := executor.SystemFailure
	if qe.Permanent {
		kind = executor.UserFailure
	}
	te := &executor.TaskError{Kind: kind, Reason: ReasonQuota, Permanent: qe.Permanent, Message: qe.Error()}
	return &taskQuotaError{te: te, qe: qe}
}

type taskQuotaError struct {
	te *executor.TaskError
	qe *QuotaError
}

func (e *taskQuotaError) Error() string   { return e.te.Error() }
func (e *taskQuotaError) Unwrap() []error { return []error{e.te, e.qe} }
