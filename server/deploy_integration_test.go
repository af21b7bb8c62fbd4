//go:build integration

package server

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/lock/kubelease"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
)

// TestDeployManifests creates deploy/server.yaml on a real kube-apiserver,
// in a namespace that enforces the restricted Pod Security Standard: every
// object is accepted, the pod the StatefulSet would make is admitted (and a
// privileged one is not, so the check is real), and the ServiceAccount's
// grants are enough for the Lease locker and nothing more.
func TestDeployManifests(t *testing.T) {
	ctx := context.Background()
	sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	cp, err := kubetest.Start(sctx, filepath.Join(t.TempDir(), "cluster"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	const ns = "runway-system"
	_, err = admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sts *appsv1.StatefulSet
	kinds := map[string]int{}
	for _, obj := range decodeManifests(t, filepath.Join("..", "deploy", "server.yaml")) {
		var err error
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			_, err = admin.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = admin.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = admin.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Service:
			_, err = admin.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.StatefulSet:
			sts, err = admin.AppsV1().StatefulSets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *policyv1.PodDisruptionBudget:
			_, err = admin.PolicyV1().PodDisruptionBudgets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("deploy/server.yaml holds a %T this test does not create", obj)
		}
		if err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
		kinds[kindOf(obj)]++
	}
	if sts == nil || kinds["ServiceAccount"] != 1 || kinds["Role"] != 1 || kinds["RoleBinding"] != 1 || kinds["Service"] != 2 {
		t.Fatalf("created %v", kinds)
	}

	// The pod the StatefulSet controller would create (no controller for
	// StatefulSets runs here): Pod Security admission runs on a dry run.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: sts.Name + "-0", Namespace: ns, Labels: sts.Spec.Template.Labels},
		Spec: *sts.Spec.Template.Spec.DeepCopy()}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: c.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name + "-" + pod.Name}}})
	}
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, dry); err != nil {
		t.Fatalf("the server's pod under restricted Pod Security: %v", err)
	}
	bad := pod.DeepCopy() // root, and a capability restricted does not allow
	root, no := int64(0), false
	bad.Spec.SecurityContext.RunAsUser, bad.Spec.SecurityContext.RunAsNonRoot = &root, &no
	bad.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_RAW"}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, bad, dry); err == nil || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("a privileged pod was not refused by Pod Security: %v", err)
	}

	// RBAC: as the ServiceAccount, the Lease locker works in its namespace,
	// and nothing else is granted.
	sa, err := kubernetes.NewForConfig(cp.Impersonate("system:serviceaccount:"+ns+":runway-server", "system:serviceaccounts", "system:serviceaccounts:"+ns, "system:authenticated"))
	if err != nil {
		t.Fatal(err)
	}
	locker, err := kubelease.New(sa, kubelease.WithNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	held, err := locker.Acquire(actx, lock.PRKey("octo/pipelines", 7))
	if err != nil {
		t.Fatalf("the Lease locker as runway-server: %v", err)
	}
	if err := held.Release(ctx); err != nil {
		t.Fatalf("releasing the Lease as runway-server: %v", err)
	}
	for what, call := range map[string]func() error{
		"read secrets": func() error { _, err := sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); return err },
		"create pods":  func() error { _, err := sa.CoreV1().Pods(ns).Create(ctx, pod, dry); return err },
		"leases elsewhere": func() error {
			_, err := sa.CoordinationV1().Leases("default").List(ctx, metav1.ListOptions{})
			return err
		},
		"read the StatefulSet": func() error {
			_, err := sa.AppsV1().StatefulSets(ns).Get(ctx, sts.Name, metav1.GetOptions{})
			return err
		},
		"list namespaces":      func() error { _, err := sa.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); return err },
		"delete the namespace": func() error { return sa.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) },
		"read the Role granted": func() error {
			_, err := sa.RbacV1().Roles(ns).Get(ctx, "runway-server-leases", metav1.GetOptions{})
			return err
		},
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("runway-server can %s (err %v); it should be forbidden", what, err)
		}
	}
}

func kindOf(o runtime.Object) string {
	switch o.(type) {
	case *corev1.ServiceAccount:
		return "ServiceAccount"
	case *rbacv1.Role:
		return "Role"
	case *rbacv1.RoleBinding:
		return "RoleBinding"
	case *corev1.Service:
		return "Service"
	case *appsv1.StatefulSet:
		return "StatefulSet"
	case *policyv1.PodDisruptionBudget:
		return "PodDisruptionBudget"
	}
	return "?"
}

func decodeManifests(t *testing.T, path string) []runtime.Object {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(fh, 4096)
	var out []runtime.Object
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding %s: %v", path, err)
		}
		if len(raw.Raw) == 0 || string(raw.Raw) == "null" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		if err != nil {
			t.Fatalf("decoding an object of %s: %v", path, err)
		}
		out = append(out, obj)
	}
}
