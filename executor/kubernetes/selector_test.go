package kubernetes

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// TestOneSelectorFindsJobsAndCronJobs: the Jobs the executor creates and
// the CronJobs promote keeps carry the same label keys (internal/kubenames),
// so one selector for a project's domain finds both, and their pods. The
// first version labelled Jobs runway.dev/* and CronJobs runway.io/*.
func TestOneSelectorFindsJobsAndCronJobs(t *testing.T) {
	a := testAttempt()
	ns, err := kubenames.Namespace("", a.Project, a.Domain)
	if err != nil {
		t.Fatal(err)
	}
	job, err := renderJob(a, ns, testDomain(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	lp := &registrar.Stored{
		ID:       registrar.ID{Project: a.Project, Domain: a.Domain, Kind: registrar.KindLaunchPlan, Name: "nightly", Version: a.TaskRef.Version},
		Entity:   &registrar.Entity{Kind: registrar.KindLaunchPlan, Project: a.Project, Name: "nightly", Version: a.TaskRef.Version, LaunchPlan: &registrar.LaunchPlan{Schedule: "0 3 * * *"}},
		Manifest: v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}},
	}
	cj, err := (&promote.CronJobs{Image: "runway:test"}).Render(a.Domain, lp)
	if err != nil {
		t.Fatal(err)
	}
	sel := labels.SelectorFromSet(labels.Set{
		kubenames.LabelManagedBy: kubenames.ManagedByValue,
		kubenames.LabelProject:   a.Project,
		kubenames.LabelDomain:    a.Domain,
		kubenames.LabelVersion:   a.TaskRef.Version,
	})
	for what, l := range map[string]map[string]string{
		"Job":           job.Labels,
		"Job's pod":     job.Spec.Template.Labels,
		"CronJob":       cj.Labels,
		"CronJob's Job": cj.Spec.JobTemplate.Labels,
		"CronJob's pod": cj.Spec.JobTemplate.Spec.Template.Labels,
	} {
		if !sel.Matches(labels.Set(l)) {
			t.Errorf("%s labels %v do not match %s", what, l, sel)
		}
	}
	if job.Namespace != cj.Namespace {
		t.Errorf("Job in namespace %q, CronJob in %q: one namespace function should name both", job.Namespace, cj.Namespace)
	}
}
