package storeopen

import (
	"fmt"
	"time"

	"github.com/runway-ci/runway/internal/kubeclient"
	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/lock/kubelease"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
)

// Environment variables that override the platform's lock settings (the
// CLI's --lock sets EnvLock).
const (
	EnvLock           = "RUNWAY_LOCK"
	EnvLockTTL        = "RUNWAY_LOCK_TTL"
	EnvLockNamespace  = "RUNWAY_LOCK_NAMESPACE"
	EnvLockKubeconfig = "RUNWAY_LOCK_KUBECONFIG"
)

// WithLock selects the Locker attached to the store from the platform
// config: lock.kind (auto, kubernetes, registry, file, process), lock.ttl,
// lock.namespace, lock.kubeconfig; with kind auto and the kubernetes
// executor, the Lease on executor.kubeconfig. The RUNWAY_LOCK* variables
// (read through WithGetenv) override each field. Without WithLock, the
// variables alone decide, and kind auto applies.
func WithLock(plat *platform.Config) Option {
	return func(o *options) error { o.lockPlat = plat; return nil }
}

// LockEnv returns getenv with the platform's lock settings filled in as
// the RUNWAY_LOCK* variables, where getenv has none: the one place the
// platform config, the environment and --lock meet.
func LockEnv(plat *platform.Config, getenv func(string) string) func(string) string {
	if plat == nil {
		return getenv
	}
	l := plat.Lock
	if (l.Kind == "" || l.Kind == platform.LockAuto) && plat.Executor.Kind == platform.ExecutorKubernetes {
		l.Kind = platform.LockKubernetes
	}
	if l.Kubeconfig == "" {
		l.Kubeconfig = plat.Executor.Kubeconfig
	}
	fromPlatform := map[string]string{EnvLock: l.Kind, EnvLockTTL: l.TTL, EnvLockNamespace: l.Namespace, EnvLockKubeconfig: l.Kubeconfig}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return fromPlatform[k]
	}
}

// attachLocker attaches the selected Locker to s (see WithLock).
func attachLocker(s store.Store, o options) (store.Store, error) {
	getenv := LockEnv(o.lockPlat, o.getenv)
	cfg := platform.Lock{Kind: getenv(EnvLock), TTL: getenv(EnvLockTTL), Namespace: getenv(EnvLockNamespace), Kubeconfig: getenv(EnvLockKubeconfig)}
	kind, err := platform.ParseLockKind(cfg.Kind)
	if err != nil {
		return nil, fmt.Errorf("lock kind (lock.kind, --lock or %s): %w", EnvLock, err)
	}
	ttl, err := platform.ParseLockTTL(cfg.TTL)
	if err != nil {
		return nil, fmt.Errorf("lock lease time (lock.ttl or %s): %w", EnvLockTTL, err)
	}
	_, onDisk := s.(*layout.Store)
	if kind == platform.LockAuto {
		kind = platform.LockRegistry
		if onDisk {
			kind = platform.LockFile
		}
	}
	var l lock.Locker
	switch kind {
	case platform.LockFile:
		if !onDisk {
			return nil, fmt.Errorf("lock kind %q needs an on-disk store (file://DIR); %s is a registry: use registry or kubernetes", kind, s)
		}
		l = lock.ForStore(s)
	case platform.LockProcess:
		l = &lock.Process{}
	case platform.LockRegistry:
		opts := []lock.RegistryOption{lock.WithLogger(o.log)}
		if ttl > 0 {
			opts = append(opts, lock.WithTTL(ttl))
		}
		if l, err = lock.NewRegistry(s, opts...); err != nil {
			return nil, err
		}
	case platform.LockKubernetes:
		client, err := kubeclient.New(cfg.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("lock kind kubernetes: %w", err)
		}
		opts := []kubelease.Option{kubelease.WithLogger(o.log)}
		if cfg.Namespace != "" {
			opts = append(opts, kubelease.WithNamespace(cfg.Namespace))
		}
		if ttl > 0 {
			opts = append(opts, kubelease.WithTTL(ttl.Truncate(time.Second)))
		}
		if l, err = kubelease.New(client, opts...); err != nil {
			return nil, err
		}
	}
	return lock.Attach(s, l), nil
}
