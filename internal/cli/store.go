package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/store/remote"
)

// DefaultStoreDir is $RUNWAY_HOME/store, else ~/.runway/store.
func DefaultStoreDir(getenv func(string) string) (string, error) {
	if h := getenv("RUNWAY_HOME"); h != "" {
		return filepath.Join(h, "store"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the default store: %w (set RUNWAY_HOME or pass --store)", err)
	}
	return filepath.Join(home, ".runway", "store"), nil
}

// OpenStore opens --store, else the platform's store, else the default
// on-disk layout.
func (g *Global) OpenStore(plat *platform.Config) (store.Store, error) {
	spec := g.Store
	if spec == "" && plat != nil {
		spec = plat.Store
	}
	getenv := g.IO.Environment
	if getenv == nil {
		getenv = os.Getenv
	}
	if spec == "" {
		dir, err := DefaultStoreDir(getenv)
		if err != nil {
			return nil, err
		}
		spec = "file://" + dir
	}
	if dir, ok := strings.CutPrefix(spec, "file://"); ok {
		s, err := layout.New(dir, layout.WithLogger(g.Log()))
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", spec, err)
		}
		return s, nil
	}
	opts := []remote.Option{remote.WithLogger(g.Log())}
	if plat != nil {
		r := plat.Registry
		opts = append(opts, remote.WithRetryMax(r.RetryMax), remote.WithParallelism(r.Parallelism))
		if r.Insecure {
			opts = append(opts, remote.WithInsecure(true))
		}
		if d, err := time.ParseDuration(r.MaxRetryAfter); err == nil {
			opts = append(opts, remote.WithMaxRetryAfter(d))
		} else if r.MaxRetryAfter != "" {
			return nil, fmt.Errorf("platform config: registry.maxRetryAfter: %q is not a duration", r.MaxRetryAfter)
		}
	}
	s, err := remote.New(spec, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", spec, err)
	}
	return s, nil
}
