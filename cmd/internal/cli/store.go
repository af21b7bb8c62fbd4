package cli

import (
	"os"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/version"
	"github.com/runway-ci/runway/promote"
)

// project opens the project's state the one way every entry point does
// (flow.Open): --platform (or the embedded defaults), then --store, else
// the platform's store, else the default on-disk layout ($RUNWAY_HOME/store,
// else ~/.runway/store). k configures the cluster for the commands that
// reach one.
func (g *Global) project(k KubernetesOptions) (*flow.Project, error) {
	plat, err := g.LoadPlatform()
	if err != nil {
		return nil, err
	}
	kube, err := k.flow()
	if err != nil {
		return nil, err
	}
	return flow.Open(flow.OpenRequest{Platform: plat, Store: g.Store, Getenv: g.getenv(), Log: g.Log(),
		RunwayVersion: version.String(), Kubernetes: kube})
}

// openProject opens the project's state and names the project: what every
// command that reads a project's state needs first.
func (g *Global) openProject() (*flow.Project, string, error) {
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return nil, "", err
	}
	if err := p.CheckDomain(g.Domain); err != nil {
		return nil, "", err
	}
	name, err := g.ProjectName()
	if err != nil {
		return nil, "", err
	}
	return p, name, nil
}

func (g *Global) getenv() func(string) string {
	if g.IO.Environment != nil {
		return g.IO.Environment
	}
	return os.Getenv
}

// promoter is the project's one promoter (flow.Project.Promoter): policy,
// runway version, and CronJobs with the Kubernetes executor.
func (g *Global) promoter() (*promote.Promoter, error) {
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return nil, err
	}
	return p.Promoter()
}

// projectStore is openProject for the commands that only read the store.
func (g *Global) projectStore() (store.Store, string, error) {
	p, name, err := g.openProject()
	if err != nil {
		return nil, "", err
	}
	return p.Store, name, nil
}
