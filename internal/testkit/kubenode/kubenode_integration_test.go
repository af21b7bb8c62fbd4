//go:build integration

package kubenode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/internal/testkit/kubetest"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// A node whose test process dies mid-run (kubelet and containerd killed,
// a pod's containers and shim still running, the kubelet's sysctls and
// cgroups in place) is cleaned up by the next Start, which comes up Ready;
// its Stop then leaves the host as it was before either: sysctls, cgroups,
// mounts, directories, the CNI bridge, processes.
func TestIntegrationRestartAfterCrashStartsClean(t *testing.T) {
	before, err := recordSysctlsForTest()
	if err != nil {
		t.Fatal(err)
	}
	existed := map[string]bool{}
	for _, p := range hostPaths {
		_, err := os.Lstat(p)
		existed[p] = err == nil
	}
	reg := testenv.StartDockerRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := kubetest.Start(ctx, filepath.Join(t.TempDir(), "cluster"), kubetest.WithControllers(kubetest.NodeControllers))
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()

	first, err := start(t, cp, reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	client := first.Client()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "left-running", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers:                   []corev1.Container{{Name: "pause", Image: first.PauseImage}},
		AutomountServiceAccountToken: new(bool),
	}}
	// The service account controller makes "default" a moment after start.
	if err := waitFor(ctx, time.Minute, "the pod to be created", func() (bool, error) {
		_, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		return err == nil, err
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, 2*time.Minute, "the pod to run", func() (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	}, nil); err != nil {
		t.Fatalf("%v\n%s", err, first.Diagnostics())
	}
	first.crashForTest()
	if v, _ := os.ReadFile("/proc/sys/vm/overcommit_memory"); strings.TrimSpace(string(v)) != "1" {
		t.Logf("the kubelet left vm.overcommit_memory=%s (expected 1)", strings.TrimSpace(string(v)))
	}
	if !kubepodsExist() || len(shims()) == 0 {
		t.Fatalf("the crash left no kubepods cgroup (%v) or no shim (%v): the test would prove nothing", kubepodsExist(), shims())
	}

	second, err := start(t, cp, reg.Host)
	if err != nil {
		t.Fatalf("starting again after the crash: %v", err)
	}
	second.Stop()

	after, err := recordSysctlsForTest()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("sysctl %s is %s, was %s", k, after[k], v)
		}
	}
	if kubepodsExist() {
		t.Error("kubepods cgroups remain")
	}
	if s := shims(); len(s) > 0 {
		t.Errorf("shims still run: %v", s)
	}
	for _, d := range []string{rootDir, stateDir, hostFile} {
		if _, err := os.Lstat(d); err == nil {
			t.Errorf("%s remains", d)
		}
	}
	for _, p := range hostPaths {
		if _, err := os.Lstat(p); !existed[p] && err == nil {
			t.Errorf("%s remains (it did not exist before)", p)
		}
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, rootDir) || strings.Contains(l, stateDir) {
			t.Errorf("mount remains: %s", l)
		}
	}
	if _, err := os.Stat("/sys/class/net/" + cniBridge); err == nil {
		t.Errorf("the CNI bridge %s remains", cniBridge)
	}
}

// crashForTest kills the node's processes as a dying test process would
// (SIGKILL, no clean-up) and drops its lock, leaving the host as a crash
// leaves it.
func (n *Node) crashForTest() {
	for _, p := range n.procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	n.procs, n.state = nil, nil
	if n.lock != nil {
		_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
		n.lock.Close()
		n.lock = nil
	}
}

func recordSysctlsForTest() (map[string]string, error) {
	out := map[string]string{}
	for _, k := range sysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			return nil, err
		}
		out[k] = strings.TrimSpace(string(b))
	}
	return out, nil
}

func kubepodsExist() bool {
	for _, r := range cgroupRoots() {
		if _, err := os.Stat(filepath.Join(r, "kubepods")); err == nil {
			return true
		}
	}
	return false
}

func shims() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(cmd), "containerd-shim") && strings.Contains(string(cmd), stateDir) {
			out = append(out, e.Name())
		}
	}
	return out
}
