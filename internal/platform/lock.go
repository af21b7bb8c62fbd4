package platform

import (
	"fmt"
	"time"
)

// Lock kinds (lock.kind, --lock, RUNWAY_LOCK); see package internal/lock.
const (
	// LockAuto picks for the store: the file lock for an on-disk store;
	// the Lease when the executor is kubernetes; else the registry claim
	// protocol. The default.
	LockAuto = "auto"
	// LockKubernetes is a coordination.k8s.io Lease per lock.
	LockKubernetes = "kubernetes"
	// LockRegistry is the registry claim protocol (no cluster needed).
	LockRegistry = "registry"
	// LockFile is the on-disk store's file lock (an on-disk store only).
	LockFile = "file"
	// LockProcess orders one process's goroutines only: for a single
	// runway at a time, never for CI jobs that may overlap.
	LockProcess = "process"
)

// LockKinds lists the kinds in the order help texts show them.
var LockKinds = []string{LockAuto, LockKubernetes, LockRegistry, LockFile, LockProcess}

// Lock configures cross-process locking.
type Lock struct {
	Kind string `yaml:"kind" json:"kind"`
	// TTL is the lease time (Go duration): how long a holder that died
	// blocks others. Default 15s for Leases, 30s for registry claims.
	TTL string `yaml:"ttl" json:"ttl"`
	// Namespace holds the Leases (default "runway-system", where
	// deploy/rbac.yaml grants them).
	Namespace string `yaml:"namespace" json:"namespace"`
	// Kubeconfig reaches the cluster for Leases; "" = executor.kubeconfig,
	// else in-cluster or the client defaults ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string `yaml:"kubeconfig" json:"kubeconfig"`
}

// ParseLockKind checks a lock kind ("" means auto).
func ParseLockKind(k string) (string, error) {
	if k == "" {
		return LockAuto, nil
	}
	for _, x := range LockKinds {
		if k == x {
			return k, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %v", k, LockKinds)
}

// ParseLockTTL checks a lease time ("" means the kind's default, 0).
func ParseLockTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%q is not a duration of at least 1s", s)
	}
	return d, nil
}

func (l Lock) validate() []error {
	var errs []error
	if _, err := ParseLockKind(l.Kind); err != nil {
		errs = append(errs, fmt.Errorf("lock.kind: %w", err))
	}
	if _, err := ParseLockTTL(l.TTL); err != nil {
		errs = append(errs, fmt.Errorf("lock.ttl: %w", err))
	}
	return errs
}
