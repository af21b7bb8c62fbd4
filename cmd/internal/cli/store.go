package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
)

// OpenStore opens --store, else the platform's store, else the default
// on-disk layout ($RUNWAY_HOME/store, else ~/.runway/store).
func (g *Global) OpenStore(plat *platform.Config) (store.Store, error) {
	spec := g.Store
	if spec == "" && plat != nil {
		spec = plat.Store
	}
	getenv := g.IO.Environment
	if getenv == nil {
		getenv = os.Getenv
	}
	opts := []storeopen.Option{storeopen.WithLogger(g.Log()), storeopen.WithGetenv(getenv)}
	if plat != nil {
		r := plat.Registry
		opts = append(opts, storeopen.WithRetryMax(r.RetryMax), storeopen.WithParallelism(r.Parallelism))
		if r.Insecure {
			opts = append(opts, storeopen.WithInsecure(true))
		}
		d, err := time.ParseDuration(r.MaxRetryAfter)
		if err != nil {
			return nil, fmt.Errorf("platform config: registry.maxRetryAfter: %q is not a duration", r.MaxRetryAfter)
		}
		opts = append(opts, storeopen.WithMaxRetryAfter(d))
	}
	s, err := storeopen.Open(spec, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening store %q: %w", spec, err)
	}
	return s, nil
}

// openProject loads the platform config, opens the store and names the
// project: what every command that reads a project's state needs first.
func (g *Global) openProject() (*platform.Config, store.Store, string, error) {
	plat, err := g.LoadPlatform()
	if err != nil {
		return nil, nil, "", err
	}
	st, err := g.OpenStore(plat)
	if err != nil {
		return nil, nil, "", err
	}
	project, err := g.ProjectName()
	if err != nil {
		return nil, nil, "", err
	}
	return plat, st, project, nil
}
