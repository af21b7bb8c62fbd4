package storeopen_test

import (
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store/storeopen"
)

func TestLockSelection(t *testing.T) {
	dir := "file://" + t.TempDir()
	env := func(kv map[string]string) storeopen.Option {
		return storeopen.WithGetenv(func(k string) string { return kv[k] })
	}
	for _, tc := range []struct {
		name, spec string
		plat       *platform.Config
		env        map[string]string
		want, err  string
	}{
		{name: "auto on disk is the file lock", spec: dir, want: "the store's own locks"},
		{name: "auto on a registry is the claim protocol", spec: "127.0.0.1:1/p", want: "registry claims in 127.0.0.1:1/p"},
		{name: "platform picks process", spec: "127.0.0.1:1/p", plat: &platform.Config{Lock: platform.Lock{Kind: "process"}}, want: "in-process"},
		{name: "env overrides platform", spec: "127.0.0.1:1/p", plat: &platform.Config{Lock: platform.Lock{Kind: "process"}}, env: map[string]string{storeopen.EnvLock: "registry"}, want: "registry claims"},
		{name: "file lock on a registry is refused", spec: "127.0.0.1:1/p", env: map[string]string{storeopen.EnvLock: "file"}, err: `lock kind "file" needs an on-disk store`},
		{name: "unknown kind", spec: dir, env: map[string]string{storeopen.EnvLock: "zookeeper"}, err: `"zookeeper" is not one of`},
		{name: "bad ttl", spec: "127.0.0.1:1/p", env: map[string]string{storeopen.EnvLockTTL: "soon"}, err: `lock lease time (lock.ttl or RUNWAY_LOCK_TTL): "soon"`},
		{name: "auto with the kubernetes executor is the Lease", spec: "127.0.0.1:1/p", plat: &platform.Config{Executor: platform.Executor{Kind: "kubernetes", Kubeconfig: "/nonexistent/kubeconfig"}}, err: `lock kind kubernetes: loading kubeconfig "/nonexistent/kubeconfig"`},
		{name: "kubernetes without a cluster", spec: "127.0.0.1:1/p", env: map[string]string{storeopen.EnvLock: "kubernetes", storeopen.EnvLockKubeconfig: "/nonexistent/kubeconfig"}, err: "lock kind kubernetes: loading kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []storeopen.Option{env(tc.env)}
			if tc.plat != nil {
				opts = append(opts, storeopen.WithLock(tc.plat))
			}
			s, err := storeopen.Open(tc.spec, opts...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want error %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := lock.For(s).String(); !strings.Contains(got, tc.want) {
				t.Fatalf("locker %q, want %q", got, tc.want)
			}
		})
	}
}
