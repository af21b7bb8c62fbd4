package promote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

var update = flag.Bool("update", false, "rewrite golden files")

func scheduledLP(version, schedule string) *registrar.Stored {
	return &registrar.Stored{
		ID:       registrar.ID{Project: project, Domain: "production", Kind: registrar.KindLaunchPlan, Name: "nightly", Version: version},
		Entity:   &registrar.Entity{Kind: registrar.KindLaunchPlan, Project: project, Name: "nightly", Version: version, LaunchPlan: &registrar.LaunchPlan{Workflow: registrar.Ref{Project: project, Name: "train", Version: version}, Schedule: schedule}},
		Manifest: v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}},
	}
}

// TestCronJobGolden renders the CronJob of a scheduled launch plan and
// compares it with testdata/cronjob.golden.json (go test -update rewrites it).
func TestCronJobGolden(t *testing.T) {
	c := &promote.CronJobs{Image: "registry.example/runway@sha256:" + strings.Repeat("0", 64), Store: "registry.example/runway", ServiceAccount: "runway"}
	cj, err := c.Render("production", scheduledLP("0123456789abcdef0123456789abcdef01234567", "0 3 * * *"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(cj, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "cronjob.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("rendered CronJob differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

func TestCronJobRenderRefusesBadInput(t *testing.T) {
	c := &promote.CronJobs{Image: "img"}
	if _, err := c.Render("production", scheduledLP("v1", "")); err == nil {
		t.Error("rendered a CronJob for a launch plan without a schedule")
	}
	if _, err := (&promote.CronJobs{}).Render("production", scheduledLP("v1", "0 3 * * *")); err == nil {
		t.Error("rendered a CronJob without an image")
	}
	if _, err := c.Render("production", &registrar.Stored{Entity: &registrar.Entity{Kind: registrar.KindTask}}); err == nil {
		t.Error("rendered a CronJob for a task")
	}
	long := promote.CronJobName(strings.Repeat("a", 63))
	if len(long) > 52 || promote.CronJobName(strings.Repeat("a", 63)) == promote.CronJobName(strings.Repeat("a", 62)) {
		t.Errorf("CronJobName of a long name: %q", long)
	}
}

// TestCronJobFollowsActivation: activating a scheduled launch plan creates
// its CronJob, activating another version updates it, deactivating removes
// it. Runs on client-go's fake clientset; the real apiserver test belongs to
// the Kubernetes test tier.
func TestCronJobFollowsActivation(t *testing.T) {
	ctx := context.Background()
	s := layoutStore(t)
	_, vs := registerVersions(t, s, 2)
	kc := fake.NewClientset()
	cj := &promote.CronJobs{Client: kc, Image: "runway:test"}
	p := newPromoter(t, s, nil, promote.WithScheduleSync(cj))
	get := func() (string, bool) {
		got, err := kc.BatchV1().CronJobs(project+"-staging").Get(ctx, "lp-nightly", metav1.GetOptions{})
		if err != nil {
			return err.Error(), false
		}
		return got.Labels[kubenames.LabelVersion], true
	}
	for _, v := range vs {
		if _, err := p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: v}); err != nil {
			t.Fatal(err)
		}
		if got, ok := get(); !ok || got != v {
			t.Fatalf("after promoting %s: CronJob version %q (found %v)", v, got, ok)
		}
	}
	if _, err := p.Deactivate(ctx, project, "staging", "nightly", "ops", ""); err != nil {
		t.Fatal(err)
	}
	if msg, ok := get(); ok || !strings.Contains(msg, "not found") {
		t.Fatalf("CronJob still there after deactivation: %s", msg)
	}
}
