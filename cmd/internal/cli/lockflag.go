package cli

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/runway-ci/runway/internal/store/storeopen"
)

// addLockFlag registers --lock. The choice reaches the store through the
// environment the CLI hands to storeopen, layered as storeopen.LockEnv
// says: --lock, else RUNWAY_LOCK, else the platform's lock.kind, else auto.
func addLockFlag(pf *pflag.FlagSet, g *Global) {
	pf.StringVar(&g.Lock, "lock", "", `how runway processes writing one store exclude each other (CI jobs, the
server, a scheduler): auto, kubernetes, registry, file or process.
Default: --platform's lock.kind, else auto = a file lock for an on-disk
store, a coordination.k8s.io Lease with the kubernetes executor, else the
registry claim protocol. process protects one process only. Also
RUNWAY_LOCK; RUNWAY_LOCK_TTL, RUNWAY_LOCK_NAMESPACE and
RUNWAY_LOCK_KUBECONFIG tune it`)
	base := g.IO.Environment
	if base == nil {
		base = os.Getenv
	}
	g.IO.Environment = func(k string) string {
		if k == storeopen.EnvLock && g.Lock != "" {
			return g.Lock
		}
		if strings.HasPrefix(k, storeopen.EnvLock) {
			if plat, err := g.LoadPlatform(); err == nil {
				return storeopen.LockEnv(plat, base)(k)
			}
		}
		return base(k)
	}
}
