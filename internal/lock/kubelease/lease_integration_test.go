//go:build integration

package kubelease_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/lock/kubelease"
	"github.com/runway-ci/runway/internal/testkit/kubetest"
)

var (
	cluster *kubetest.ControlPlane
	admin   kubernetes.Interface
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	dir, _ := os.MkdirTemp("", "kubelease")
	var err error
	cluster, err = kubetest.Start(ctx, filepath.Join(dir, "cluster"))
	cancel()
	if err != nil {
		os.Stderr.WriteString("kubelease: " + err.Error() + "\n")
		os.Exit(1)
	}
	admin, _ = cluster.Client()
	code := m.Run()
	cluster.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// asExecutor applies deploy/rbac.yaml's namespace, service account and
// lock role, and returns a client acting as that service account: the
// Leases work with exactly the grants deploy/rbac.yaml gives.
func asExecutor(t *testing.T) kubernetes.Interface {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile("../../../deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		j, err := sigyaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(j)) == 0 || string(j) == "null" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(j, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = admin.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			_, err = admin.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = admin.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = admin.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			continue // the executor's cluster roles are tested with the executor
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	c, err := kubernetes.NewForConfig(cluster.Impersonate("system:serviceaccount:runway-system:runway-executor",
		"system:serviceaccounts", "system:serviceaccounts:runway-system", "system:authenticated"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newLocker(t *testing.T, c kubernetes.Interface, opts ...kubelease.Option) *kubelease.Locker {
	l, err := kubelease.New(c, append([]kubelease.Option{kubelease.WithTTL(2 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Four lockers, each with its own client, as four processes would have:
// never two holders at once, with only deploy/rbac.yaml's grants.
func TestLeaseMutualExclusion(t *testing.T) {
	asExecutor(t) // deploy/rbac.yaml's grants, used by each locker below
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var inside, max, total atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 4 {
		c, err := kubernetes.NewForConfig(cluster.Impersonate("system:serviceaccount:runway-system:runway-executor",
			"system:serviceaccounts", "system:serviceaccounts:runway-system", "system:authenticated"))
		if err != nil {
			t.Fatal(err)
		}
		l := newLocker(t, c, kubelease.WithHolder("locker-"+string(rune('a'+i))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				err := lock.Do(ctx, l, lock.EntityKey("p", "dev", "launchplan", "nightly"), func(context.Context) error {
					n := inside.Add(1)
					for m := max.Load(); n > m && !max.CompareAndSwap(m, n); m = max.Load() {
					}
					time.Sleep(5 * time.Millisecond)
					inside.Add(-1)
					total.Add(1)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if max.Load() != 1 || total.Load() != 20 {
		t.Fatalf("max holders %d, sections %d", max.Load(), total.Load())
	}
	// Released Leases are deleted.
	ls, err := admin.CoordinationV1().Leases(kubelease.DefaultNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Items) != 0 {
		t.Fatalf("%d Leases left after release", len(ls.Items))
	}
}

// A Lease whose holder died is taken over after one lease duration, no
// sooner.
func TestLeaseOfADeadHolderLapses(t *testing.T) {
	sa := asExecutor(t)
	ctx := context.Background()
	key := "entity/p/dev/task/dead"
	secs, who := int32(2), "killed-9"
	now := metav1.NewMicroTime(time.Now())
	_, err := admin.CoordinationV1().Leases(kubelease.DefaultNamespace).Create(ctx, &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: kubelease.LeaseName(key)},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &who, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h, err := newLocker(t, sa).Acquire(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	waited := time.Since(start)
	if waited < 2*time.Second || waited > 6*time.Second {
		t.Fatalf("took over a dead holder's 2s Lease after %s", waited)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A holder whose Lease is taken over loses the lock: its context ends
// with ErrLost, and Release leaves the other holder's Lease alone.
func TestLeaseLostWhenTakenOver(t *testing.T) {
	sa := asExecutor(t)
	ctx := context.Background()
	key := "cache/p/dev/k"
	h, err := newLocker(t, sa).Acquire(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	leases := admin.CoordinationV1().Leases(kubelease.DefaultNamespace)
	le, err := leases.Get(ctx, kubelease.LeaseName(key), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	thief := "thief"
	le.Spec.HolderIdentity = &thief
	if _, err := leases.Update(ctx, le, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Context().Done():
		if !errors.Is(context.Cause(h.Context()), lock.ErrLost) {
			t.Fatalf("cause %v", context.Cause(h.Context()))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the holder did not notice the take-over")
	}
	_ = h.Release(ctx)
	got, err := leases.Get(ctx, kubelease.LeaseName(key), metav1.GetOptions{})
	if err != nil || *got.Spec.HolderIdentity != thief {
		t.Fatalf("Release removed someone else's Lease: %v %v", got, err)
	}
}
