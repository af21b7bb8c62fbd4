//go:build integration

package promote_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/promote"
)

// TestIntegrationCronJobOnRealAPIServer: activating a scheduled launch plan
// creates a CronJob that a real kube-apiserver accepts (validation and
// admission, in a namespace that enforces the restricted Pod Security
// level), promoting a newer version updates it, and deactivating removes it.
func TestIntegrationCronJobOnRealAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cp, err := kubetest.Start(ctx, filepath.Join(t.TempDir(), "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	kc, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := project + "-staging"
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s := layoutStore(t)
	_, vs := registerVersions(t, s, 2)
	cj := &promote.CronJobs{Client: kc, Namespace: "{project}-{domain}", Image: "registry.example/runway@sha256:" + fakeDigest, Store: "registry.example/runway"}
	p := newPromoter(t, s, nil, promote.WithScheduleSync(cj))
	for _, v := range vs {
		if _, err := p.Promote(ctx, promote.Request{Project: project, From: "development", To: "staging", Version: v}); err != nil {
			t.Fatalf("promoting %s: %v", v, err)
		}
		got, err := kc.BatchV1().CronJobs(ns).Get(ctx, "lp-nightly", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("after promoting %s: %v", v, err)
		}
		if got.Labels[kubenames.LabelVersion] != v || got.Spec.Schedule == "" {
			t.Errorf("CronJob after %s: labels %v, schedule %q", v, got.Labels, got.Spec.Schedule)
		}
		// The pods it would start pass restricted Pod Security admission:
		// a server-side dry run of the pod template is admitted.
		tmpl := got.Spec.JobTemplate.Spec.Template
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "lp-nightly-", Namespace: ns, Labels: tmpl.Labels}, Spec: tmpl.Spec}
		if _, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("the CronJob's pod is not admitted under restricted Pod Security: %v", err)
		}
	}
	if _, err := p.Deactivate(ctx, project, "staging", "nightly", "ops", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.BatchV1().CronJobs(ns).Get(ctx, "lp-nightly", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("CronJob still there after deactivation: %v", err)
	}
}

const fakeDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
