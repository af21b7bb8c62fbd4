// Package kubenode starts a real single Kubernetes node for tests, on top of
// a kubetest control plane: kube-scheduler, containerd (with runc) and a
// kubelet, all on loopback. Pods are real runc containers: images are
// pulled from a loopback registry, cgroup limits are applied by the
// kubelet, OOMKilled is reported by the kubelet.
//
// Binaries: kubelet and kube-scheduler from $RUNWAY_KUBE_BIN (.ci/kube.sh),
// containerd, containerd-shim-runc-v2 and a static pause from
// $RUNWAY_NODE_BIN (.ci/node.sh); runc and the CNI plugins from Debian.
//
// Settings that make it work on these machines (cgroup v1, no
// CAP_SYS_RESOURCE, no Docker): kubelet with failCgroupV1 false, the
// cgroupfs driver, swap allowed, relaxed eviction thresholds and node name
// "localhost" (the apiserver dials it by that name for logs); containerd
// with restrict_oom_score_adj, the overlayfs snapshotter, a certs.d entry
// that reaches the test's registry over plain HTTP (AddPlainHTTPRegistry
// adds one for another registry, such as one that requires credentials),
// network namespaces
// under its own state dir and a CNI bridge with addresses from TEST-NET-1
// and no route out (pods that must reach loopback services, such as the
// registry, use hostNetwork).
//
// One node per machine at a time: Start takes a host-wide lock (bounded
// wait), because the kubelet changes host-wide things. Everything it
// changes is put back by the test's cleanup, and also by the next Start
// if a previous run was killed before its cleanup: the sysctls
// vm.overcommit_memory, kernel.panic and kernel.panic_on_oops (saved to a
// file before the kubelet starts), the containers and shims still running,
// the kubepods cgroups in every hierarchy, the CNI bridge, mounts under the node's
// directories, /var/log/pods and /var/log/containers, CNI's cache and
// /run/containerd when they were not there before.
//
// Every wait is bounded; a failure names what did not happen and shows
// the tail of the kubelet's and containerd's logs, which are also printed
// when the test that started the node fails.
package kubenode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runway-ci/runway/internal/testkit/kubetest"
)

// EnvNodeBin names the directory holding containerd,
// containerd-shim-runc-v2 and pause (`eval "$(bash .ci/node.sh)"`).
const EnvNodeBin = "RUNWAY_NODE_BIN"

// NodeName is the node's name and the name the apiserver dials it by.
const NodeName = "localhost"

// Fixed places, so that a run killed before its cleanup is cleaned up by
// the next one.
const (
	rootDir   = "/var/lib/runway-kubenode"      // kubelet and containerd roots
	stateDir  = "/run/runway-kubenode"          // containerd state, socket, netns
	hostFile  = "/var/lib/runway-kubenode.json" // what to put back
	lockFile  = "/run/runway-kubenode.lock"
	cniName   = "runway-node"
	cniBridge = "runway0"
	cniDir    = "/usr/lib/cni"
	// LockWait bounds the wait for another run's node to finish.
	lockWait = 15 * time.Minute
)

// sysctls the kubelet rewrites (vm.overcommit_memory=1, kernel.panic=10,
// kernel.panic_on_oops=1).
var sysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"}

// hostPaths are created by the kubelet or containerd when missing.
// (Network namespaces go under the node's state dir, not /run/netns.)
var hostPaths = []string{"/var/log/pods", "/var/log/containers", "/var/lib/cni", "/run/containerd"}

// Node is a running kube-scheduler + containerd + kubelet.
type Node struct {
	// Name is the node's name (NodeName).
	Name string
	// Dir holds the configuration and every component's log.
	Dir string
	// PauseImage is the sandbox image containerd runs for every pod.
	PauseImage string

	client kubernetes.Interface
	procs  []*proc
	lock   *os.File
	state  *hostState
	tb     testing.TB
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// hostState is what the node changes on the host, as it was before.
type hostState struct {
	Sysctls map[string]string `json:"sysctls"`
	Existed map[string]bool   `json:"existed"`
}

// Start starts a node registered with cp and waits until it is Ready and
// schedulable. registry is the host:port of a plain-HTTP registry on
// loopback: the pause image is pushed there and containerd pulls from it.
// The node is stopped, and the host put back, when tb ends.
func Start(tb testing.TB, cp *kubetest.ControlPlane, registry string) *Node {
	tb.Helper()
	n, err := start(tb, cp, registry)
	if err != nil {
		tb.Fatalf("starting a real node: %v", err)
	}
	return n
}

func start(tb testing.TB, cp *kubetest.ControlPlane, registry string) (_ *Node, err error) {
	kubeBin, nodeBin := os.Getenv(kubetest.EnvBin), os.Getenv(EnvNodeBin)
	if kubeBin == "" || nodeBin == "" {
		return nil, fmt.Errorf("%s and %s must name the node's binaries: `export %s=\"$(bash .ci/kube.sh)\"; eval \"$(bash .ci/node.sh)\"; export %s`",
			kubetest.EnvBin, EnvNodeBin, kubetest.EnvBin, EnvNodeBin)
	}
	bins := map[string]string{
		"kubelet":                 filepath.Join(kubeBin, "kubelet"),
		"kube-scheduler":          filepath.Join(kubeBin, "kube-scheduler"),
		"containerd":              filepath.Join(nodeBin, "containerd"),
		"containerd-shim-runc-v2": filepath.Join(nodeBin, "containerd-shim-runc-v2"),
		"pause":                   filepath.Join(nodeBin, "pause"),
		"runc":                    "",
		"loopback":                filepath.Join(cniDir, "loopback"),
	}
	for name, p := range bins {
		if p == "" {
			if p, err = exec.LookPath(name); err != nil {
				return nil, fmt.Errorf("%s is not installed: apt-get install -y %s", name, name)
			}
			bins[name] = p
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %w (run .ci/kube.sh and .ci/node.sh; Debian package containernetworking-plugins for CNI)", p, err)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("a real node needs root (cgroups, mounts, containers)")
	}

	n := &Node{Name: NodeName, Dir: tb.TempDir(), tb: tb}
	if n.client, err = cp.Client(); err != nil {
		return nil, err
	}
	if err := n.takeLock(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, n.Diagnostics())
			n.Stop()
		}
	}()
	// A run killed before its cleanup left its containers, mounts,
	// cgroups and sysctls: put them back before recording the host.
	if prev, err := readHostState(); err == nil {
		tb.Logf("kubenode: cleaning up after a previous run that did not stop")
		if err := sweep(prev); err != nil {
			return nil, fmt.Errorf("cleaning up a previous run: %w", err)
		}
	}
	if n.state, err = recordHostState(); err != nil {
		return nil, err
	}
	if err := sweep(nil); err != nil {
		return nil, err
	}
	for _, d := range []string{rootDir, stateDir, filepath.Join(n.Dir, "cni"), filepath.Join(n.Dir, "certs.d", registry)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if n.PauseImage, err = pushPause(ctx, bins["pause"], registry); err != nil {
		return nil, err
	}
	sock := filepath.Join(stateDir, "containerd.sock")
	if err := n.writeContainerdConfig(registry, bins["runc"]); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PATH="+nodeBin+":"+filepath.Dir(bins["runc"])+":"+os.Getenv("PATH"))
	if err := n.startProc("containerd", env, bins["containerd"], "--config", filepath.Join(n.Dir, "containerd.toml")); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 60*time.Second, "containerd's socket "+sock, func() (bool, error) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	}, n.procs[len(n.procs)-1]); err != nil {
		return nil, err
	}

	ports, err := kubetest.FreePorts(3)
	if err != nil {
		return nil, err
	}
	if err := n.startProc("kube-scheduler", nil, bins["kube-scheduler"],
		"--kubeconfig", cp.Kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", ports[0], "--profiling=false",
	); err != nil {
		return nil, err
	}
	if err := n.writeKubeletConfig(sock, ports[1], ports[2]); err != nil {
		return nil, err
	}
	if err := n.startProc("kubelet", env, bins["kubelet"],
		"--config", filepath.Join(n.Dir, "kubelet.yaml"),
		"--kubeconfig", cp.Kubeconfig,
		"--root-dir", filepath.Join(rootDir, "kubelet"),
		"--hostname-override", NodeName,
		"--v", "2",
	); err != nil {
		return nil, err
	}
	kubelet := n.procs[len(n.procs)-1]
	if err := waitFor(ctx, 90*time.Second, "node "+NodeName+" to be Ready", func() (bool, error) {
		node, err := n.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}, kubelet); err != nil {
		return nil, err
	}
	// Without the node-lifecycle controller (kubetest keeps it off) the
	// kubelet's not-ready taint stays; remove it as that controller does
	// once the node is Ready.
	if err := n.untaint(ctx); err != nil {
		return nil, err
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("kubenode diagnostics:\n%s", n.Diagnostics())
		}
		n.Stop()
	})
	return n, nil
}

// Client returns the admin client the node was started with.
func (n *Node) Client() kubernetes.Interface { return n.client }

func (n *Node) untaint(ctx context.Context) error {
	return waitFor(ctx, 30*time.Second, "the node's not-ready taint to be removed", func() (bool, error) {
		node, err := n.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var keep []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady && t.Key != corev1.TaintNodeUnreachable {
				keep = append(keep, t)
			}
		}
		if len(keep) == len(node.Spec.Taints) {
			return true, nil
		}
		node.Spec.Taints = keep
		_, err = n.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err == nil, nil
	}, nil)
}

// Diagnostics returns the tail of the kubelet's, containerd's and the
// scheduler's logs.
func (n *Node) Diagnostics() string {
	var b strings.Builder
	for _, c := range []string{"kubelet", "containerd", "kube-scheduler"} {
		data, err := os.ReadFile(filepath.Join(n.Dir, c+".log"))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s.log (tail) ---\n%s\n", c, kubetest.Tail(data, 6000))
	}
	return b.String()
}

// Stop stops the kubelet, the scheduler and containerd, kills what still
// runs in containers, and puts the host back as Start found it. It is
// safe to call twice.
func (n *Node) Stop() {
	for i := len(n.procs) - 1; i >= 0; i-- {
		p := n.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	n.procs = nil
	if n.state != nil {
		if err := sweep(n.state); err != nil && n.tb != nil {
			n.tb.Errorf("kubenode: putting the host back: %v", err)
		}
		n.state = nil
	}
	if n.lock != nil {
		_ = syscall.Flock(int(n.lock.Fd()), syscall.LOCK_UN)
		n.lock.Close()
		n.lock = nil
	}
}

func (n *Node) takeLock() error {
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(lockWait)
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			break
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(lockFile)
			f.Close()
			return fmt.Errorf("another real node (pid %s) held %s for %s: one node per machine at a time", strings.TrimSpace(string(holder)), lockFile, lockWait)
		}
		time.Sleep(time.Second)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	n.lock = f
	return nil
}

func (n *Node) startProc(name string, env []string, path string, args ...string) error {
	logf, err := os.Create(filepath.Join(n.Dir, name+".log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	c := exec.Command(path, args...)
	c.Env = env
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: c, done: make(chan struct{})}
	go func() { _ = c.Wait(); close(p.done) }()
	n.procs = append(n.procs, p)
	return nil
}

// AddPlainHTTPRegistry makes containerd reach registry, another
// "127.0.0.1:PORT" registry than the one Start was given, over plain HTTP
// as well: the same certs.d hosts.toml entry, which containerd reads on
// every pull (no restart). Credentials are not part of it: they come with
// each pull, from the pod's imagePullSecrets.
func (n *Node) AddPlainHTTPRegistry(registry string) error {
	return n.writeHostsTOML(registry)
}

func (n *Node) writeHostsTOML(registry string) error {
	if h, _, err := net.SplitHostPort(registry); err != nil || !net.ParseIP(h).IsLoopback() {
		return fmt.Errorf("registry %q: want a loopback HOST:PORT", registry)
	}
	if err := os.MkdirAll(filepath.Join(n.Dir, "certs.d", registry), 0o755); err != nil {
		return err
	}
	hosts := fmt.Sprintf("server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", registry, registry)
	return os.WriteFile(filepath.Join(n.Dir, "certs.d", registry, "hosts.toml"), []byte(hosts), 0o644)
}

func (n *Node) writeContainerdConfig(registry, runc string) error {
	if err := n.writeHostsTOML(registry); err != nil {
		return err
	}
	// A bridge with no gateway, no masquerading and addresses from
	// TEST-NET-1 (RFC 5737, not a private range): pods that are not on
	// the host network get an interface, as containerd requires, and no
	// route anywhere. Nothing is sent to those addresses.
	cni := `{"cniVersion": "1.0.0", "name": "` + cniName + `", "plugins": [{"type": "bridge", "bridge": "` + cniBridge + `",
  "isGateway": false, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "192.0.2.0/24"}]], "dataDir": "` + filepath.Join(stateDir, "cni-ipam") + `"}}]}` + "\n"
	if err := os.WriteFile(filepath.Join(n.Dir, "cni", "10-"+cniName+".conflist"), []byte(cni), 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`version = 3
root = %q
state = %q

[grpc]
  address = %q

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %q
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = %q

[plugins.'io.containerd.cri.v1.runtime']
  # This sandbox lacks CAP_SYS_RESOURCE: without it every sandbox fails
  # with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = %q
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%q]
    conf_dir = %q

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
  stream_server_port = '0'
`, filepath.Join(rootDir, "containerd"), filepath.Join(stateDir, "containerd"),
		filepath.Join(stateDir, "containerd.sock"), n.PauseImage, filepath.Join(n.Dir, "certs.d"),
		runc, cniDir, filepath.Join(n.Dir, "cni"))
	return os.WriteFile(filepath.Join(n.Dir, "containerd.toml"), []byte(cfg), 0o644)
}

func (n *Node) writeKubeletConfig(sock, port, healthz string) error {
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://%s
address: 127.0.0.1
port: %s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %s
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
podLogsDir: %s
resolvConf: ""
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", nodefs.inodesFree: "1%%", imagefs.available: "1%%"}
nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 10s
maxPods: 110
`, sock, port, healthz, filepath.Join(rootDir, "pod-logs"))
	return os.WriteFile(filepath.Join(n.Dir, "kubelet.yaml"), []byte(cfg), 0o644)
}

// waitFor polls cond every 200 ms until it holds, limit passes or p (when
// not nil) exits.
func waitFor(ctx context.Context, limit time.Duration, what string, cond func() (bool, error), p *proc) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if p != nil {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited while waiting for %s", p.name, what)
			default:
			}
		}
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("timed out after %s waiting for %s: %w", limit, what, last)
			}
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readHostState() (*hostState, error) {
	b, err := os.ReadFile(hostFile)
	if err != nil {
		return nil, err
	}
	var s hostState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", hostFile, err)
	}
	return &s, nil
}

func recordHostState() (*hostState, error) {
	s := &hostState{Sysctls: map[string]string{}, Existed: map[string]bool{}}
	for _, k := range sysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			return nil, fmt.Errorf("reading sysctl %s: %w", k, err)
		}
		s.Sysctls[k] = strings.TrimSpace(string(b))
	}
	for _, p := range hostPaths {
		_, err := os.Lstat(p)
		s.Existed[p] = err == nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(hostFile+".tmp", b, 0o644); err != nil {
		return nil, err
	}
	return s, os.Rename(hostFile+".tmp", hostFile)
}

// sweep kills every container process and shim of the node, unmounts
// everything under the node's directories, removes them and the kubepods
// cgroups, and, when s is not nil, puts back what s recorded and removes
// the record.
func sweep(s *hostState) error {
	var errs []error
	killContainers()
	for _, prefix := range []string{rootDir, stateDir, "/run/containerd"} {
		unmountUnder(prefix)
	}
	for _, d := range []string{rootDir, stateDir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := net.InterfaceByName(cniBridge); err == nil {
		if out, err := exec.Command("ip", "link", "delete", cniBridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("deleting the CNI bridge %s: %w: %s", cniBridge, err, out))
		}
	}
	if err := removeKubepods(); err != nil {
		errs = append(errs, err)
	}
	// CNI's cache of this network's results, whoever made the directory.
	if m, _ := filepath.Glob("/var/lib/cni/results/" + cniName + "-*"); len(m) > 0 {
		for _, p := range m {
			_ = os.Remove(p)
		}
	}
	// /var/log/containers holds the kubelet's symlinks into the pod logs.
	if ents, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, e := range ents {
			p := filepath.Join("/var/log/containers", e.Name())
			if t, err := os.Readlink(p); err == nil && strings.HasPrefix(t, rootDir) {
				_ = os.Remove(p)
			}
		}
	}
	if s != nil {
		for _, p := range hostPaths {
			if !s.Existed[p] {
				_ = os.RemoveAll(p) // best effort: another program may have started using it
			}
		}
		for k, v := range s.Sysctls {
			if err := os.WriteFile("/proc/sys/"+k, []byte(v+"\n"), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("restoring sysctl %s=%s: %w", k, v, err))
			}
		}
		if len(errs) == 0 {
			_ = os.Remove(hostFile)
		}
	}
	return errors.Join(errs...)
}

// killContainers kills every process in a kubepods cgroup and every shim
// serving this node's containerd.
func killContainers() {
	for range 3 {
		pids := map[int]bool{}
		for _, root := range cgroupRoots() {
			_ = filepath.WalkDir(filepath.Join(root, "kubepods"), func(p string, d os.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return nil
				}
				b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						pids[pid] = true
					}
				}
				return nil
			})
		}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if strings.Contains(string(cmd), "containerd-shim") && strings.Contains(string(cmd), stateDir) {
				pids[pid] = true
			}
		}
		if len(pids) == 0 {
			return
		}
		for pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// cgroupRoots lists the cgroup v1 hierarchies (and the v2 mount, if any).
func cgroupRoots() []string {
	var out []string
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		if t := fields[sep+1]; t == "cgroup" || t == "cgroup2" {
			out = append(out, unescapeMount(fields[4]))
		}
	}
	return out
}

// removeKubepods removes the kubepods cgroup trees, children first,
// retrying while the kernel releases cgroups of killed processes.
func removeKubepods() error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var left []string
		for _, root := range cgroupRoots() {
			top := filepath.Join(root, "kubepods")
			if _, err := os.Stat(top); err != nil {
				continue
			}
			var dirs []string
			_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
			for _, d := range dirs {
				if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
					left = append(left, d)
				}
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kubepods cgroups still busy after 20s: %s", strings.Join(left, ", "))
		}
		killContainers()
		time.Sleep(300 * time.Millisecond)
	}
}

// unmountUnder detaches every mount at or below prefix, deepest first.
func unmountUnder(prefix string) {
	for range 3 {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return
		}
		var points []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 5 {
				continue
			}
			p := unescapeMount(fields[4])
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				points = append(points, p)
			}
		}
		f.Close()
		if len(points) == 0 {
			return
		}
		sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
		for _, p := range points {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
