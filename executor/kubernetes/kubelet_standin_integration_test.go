//go:build integration

package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/runway-ci/runway/executor/exectask"
)

// kubeletStandIn stands in for the kubelet (and the scheduler) only, so
// that this package's tier runs without a node (executor/kubernetes/nodetest
// runs a real kubelet). It registers a Ready node, binds every pending
// pod to it through the pods/binding subresource, runs the pod's own
// command on this host, and reports the container's life through the pod
// status API the way a kubelet does: Running, then Terminated with the
// exit code and the termination message read from the container's
// terminationMessagePath; a pod being deleted has its process killed and
// is then removed with grace period 0, as a kubelet confirms a deletion.
// Everything else the tests touch (validation, admission, quota, the Job
// controller, the garbage collector, informers, RBAC) is the real thing.
//
// Where it departs from a kubelet, because there are no containers:
//   - volumes are host directories: emptyDir is a fresh directory,
//     downwardAPI files are written from the pod's fields, secret volumes
//     from the Secret. A mount below another mount (emptyDirs under
//     /runway/work) is a subdirectory of the outer one's directory, which
//     an emptyDir cannot tell apart;
//   - container paths are translated to those directories: in the command's
//     arguments, in environment values, and in the path fields of the
//     exec-task spec (workDir, checkpointDir, resultFile), since exec-task
//     runs on the host rather than in the container's mount namespace. The
//     termination log is a bind mount, as on a node (the command runs in a
//     private mount namespace where the file the stand-in reads is
//     bind-mounted where exec-task writes), which shows that exec-task can
//     write its result on a real node; RUNWAY_STANDIN_NO_BIND_TERMINATION_LOG=1
//     turns that off;
//   - "runway" in the command is the test binary, which dispatches
//     `exec-task` to the real exec-task code;
//   - images are not pulled; an image under unpullablePrefix is reported
//     as a refused pull (ImagePullBackOff) instead of running;
//   - a container's memory limit is a cgroup v1 memory cgroup below this
//     process's own (memory and memory+swap limits); a container whose
//     cgroup counted an OOM kill is reported OOMKilled, as a runtime does;
//   - at most maxRunning commands run at once (a node's capacity); the
//     others stay Pending, bound, until a slot frees.
type kubeletStandIn struct {
	client     kubernetes.Interface
	node       string
	runway     string
	dir        string
	env        []string
	slots      chan struct{}
	log        func(format string, a ...any)
	stop       chan struct{}
	wg         sync.WaitGroup
	mu         sync.Mutex
	started    map[types.UID]bool
	running    map[types.UID]*exec.Cmd
	stopped    bool
	maxRunning int
}

const standInNode = "kubelet-stand-in"

// envNoBindTermination stops the stand-in from bind-mounting the
// termination log as a node does (see kubeletStandIn); the bind mount is
// the default, so exec-task's result writing is tested as on a real node.
const envNoBindTermination = "RUNWAY_STANDIN_NO_BIND_TERMINATION_LOG"

// unpullablePrefix marks images whose pull the stand-in refuses, as a
// registry that does not have them would.
const unpullablePrefix = "registry.invalid/unpullable/"

// newKubeletStandIn registers the stand-in's node and starts reacting to
// pods, acting with an admin client; log receives what goes wrong.
func newKubeletStandIn(ctx context.Context, client kubernetes.Interface, dir string, log func(format string, a ...any)) (*kubeletStandIn, error) {
	k := &kubeletStandIn{
		client: client, node: standInNode, runway: os.Args[0], dir: dir,
		maxRunning: 16, stop: make(chan struct{}),
		started: map[types.UID]bool{}, running: map[types.UID]*exec.Cmd{}, log: log,
	}
	k.slots = make(chan struct{}, k.maxRunning)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.node, Labels: map[string]string{"kubernetes.io/hostname": k.node}},
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("registering the stand-in node: %w", err)
	}
	n, err := client.CoreV1().Nodes().Get(ctx, k.node, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	n.Status.Capacity = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}
	n.Status.Allocatable = n.Status.Capacity
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("marking the stand-in node ready: %w", err)
	}

	f := informers.NewSharedInformerFactory(client, 0)
	inf := f.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.sync(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { k.sync(obj.(*corev1.Pod)) },
	})
	f.Start(k.stop)
	if !cache.WaitForCacheSync(k.stop, inf.HasSynced) {
		return nil, errors.New("kubelet stand-in: pod cache did not sync")
	}
	return k, nil
}

// sync reacts to one pod change.
func (k *kubeletStandIn) sync(p *corev1.Pod) {
	ctx := context.Background()
	switch {
	case p.DeletionTimestamp != nil:
		k.wg.Add(1)
		go func() { defer k.wg.Done(); k.kill(ctx, p) }()
	case p.Spec.NodeName == "" && p.Status.Phase == corev1.PodPending:
		err := k.client.CoreV1().Pods(p.Namespace).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: k.node},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			k.log("binding %s/%s: %v", p.Namespace, p.Name, err)
		}
	case p.Spec.NodeName == k.node && p.Status.Phase == corev1.PodPending:
		k.mu.Lock()
		if k.started[p.UID] || k.stopped {
			k.mu.Unlock()
			return
		}
		k.started[p.UID] = true
		k.mu.Unlock()
		k.wg.Add(1)
		go func() { defer k.wg.Done(); k.run(ctx, p) }()
	}
}

// run runs the pod's one container to its end.
func (k *kubeletStandIn) run(ctx context.Context, p *corev1.Pod) {
	select {
	case k.slots <- struct{}{}:
	case <-k.stop:
		return
	}
	defer func() { <-k.slots }()
	c := p.Spec.Containers[0]
	if strings.HasPrefix(c.Image, unpullablePrefix) {
		// As a kubelet whose pull is refused: ErrImagePull, then
		// ImagePullBackOff, until the pod is deleted.
		k.setStatus(ctx, p, func(s *corev1.PodStatus) {
			s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "ImagePullBackOff", Message: `Back-off pulling image "` + c.Image + `": ErrImagePull: pull access denied, repository does not exist or may require authorization`,
			}}}}
		})
		return
	}
	root := filepath.Join(k.dir, string(p.UID))
	mounts, err := k.volumes(ctx, p, c, root)
	if err != nil {
		k.finish(ctx, p, 128, "ContainerCannotRun", err.Error())
		return
	}
	termFile := filepath.Join(root, "termination-log")
	if err := os.WriteFile(termFile, nil, 0o644); err != nil {
		k.finish(ctx, p, 128, "ContainerCannotRun", err.Error())
		return
	}
	termPath := termFile
	if os.Getenv(envNoBindTermination) == "" {
		// The container sees the termination log at a bind mount of the
		// file the kubelet reads, as on a real node.
		termPath = filepath.Join(root, "termination-log.mount")
		if err := os.WriteFile(termPath, nil, 0o644); err != nil {
			k.finish(ctx, p, 128, "ContainerCannotRun", err.Error())
			return
		}
	}
	mounts = append(mounts, mount{container: c.TerminationMessagePath, host: termPath})
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].container) > len(mounts[j].container) })
	hostPath := func(s string) string {
		for _, m := range mounts {
			if s == m.container || strings.HasPrefix(s, m.container+"/") {
				return m.host + strings.TrimPrefix(s, m.container)
			}
		}
		return s
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	for i, a := range argv {
		argv[i] = hostPath(a)
	}
	if argv[0] == "runway" {
		argv[0] = k.runway
	}
	if err := k.rewriteSpec(argv, hostPath); err != nil {
		k.finish(ctx, p, 128, "ContainerCannotRun", err.Error())
		return
	}
	if termPath != termFile {
		argv = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" "$2" && shift 2 && exec "$@"`, "sh", termFile, termPath}, argv...)
	}
	env := []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range c.Env {
		env = append(env, e.Name+"="+hostPath(e.Value))
	}
	env = append(env, k.env...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	logf, _ := os.Create(filepath.Join(root, "container.log"))
	if logf != nil {
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
	} else {
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	if err := cmd.Start(); err != nil {
		k.mu.Unlock()
		k.finish(ctx, p, 128, "StartError", err.Error())
		return
	}
	k.running[p.UID] = cmd
	k.mu.Unlock()
	var cg *memoryCgroup
	if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		// The container's memory limit, as the runtime would set it; the
		// process joins right after it starts, before exec-task allocates
		// anything to speak of, and its children inherit the cgroup.
		cg, err = newMemoryCgroup(string(p.UID), lim.Value())
		if err == nil {
			err = cg.join(cmd.Process.Pid)
		}
		if err != nil {
			k.log("memory limit of %s/%s not enforced: %v", p.Namespace, p.Name, err)
		}
		defer cg.remove()
	}
	now := metav1.Now()
	k.setStatus(ctx, p, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodRunning
		s.StartTime = &now
		s.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	})
	err = cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	k.mu.Lock()
	delete(k.running, p.UID)
	k.mu.Unlock()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		code = 128
	}
	if code == exectask.ExitSystemFailure && logf != nil {
		b, _ := os.ReadFile(logf.Name())
		k.log("%s/%s: exec-task failed (exit %d); its log ends:\n%s", p.Namespace, p.Name, code, tailString(b, 1024))
	}
	msg, _ := os.ReadFile(termFile)
	if len(msg) > 4096 { // the kubelet's limit for one container
		msg = msg[:4096]
	}
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	if cg.oomKills() > 0 {
		reason = "OOMKilled" // as the runtime reports a container whose cgroup hit its limit
	}
	k.finish(ctx, p, int32(code), reason, string(msg))
}

type mount struct{ container, host string }

// volumes makes the pod's volumes as host directories and returns where
// each of the container's mounts lands.
func (k *kubeletStandIn) volumes(ctx context.Context, p *corev1.Pod, c corev1.Container, root string) ([]mount, error) {
	vms := append([]corev1.VolumeMount{}, c.VolumeMounts...)
	sort.SliceStable(vms, func(i, j int) bool { return len(vms[i].MountPath) < len(vms[j].MountPath) })
	volDir := map[string]string{}
	var mounts []mount
	for _, vm := range vms {
		dir, ok := volDir[vm.Name]
		if !ok {
			dir = filepath.Join(root, "volumes", vm.Name)
			for _, m := range mounts { // a mount below an earlier one
				if strings.HasPrefix(vm.MountPath, m.container+"/") {
					dir = m.host + strings.TrimPrefix(vm.MountPath, m.container)
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			if err := k.fill(ctx, p, vm.Name, dir); err != nil {
				return nil, err
			}
			volDir[vm.Name] = dir
		}
		mounts = append(mounts, mount{container: vm.MountPath, host: dir})
	}
	return mounts, nil
}

var annotationRef = regexp.MustCompile(`^metadata\.annotations\['(.+)'\]$`)

// fill writes a downwardAPI or secret volume's files.
func (k *kubeletStandIn) fill(ctx context.Context, p *corev1.Pod, name, dir string) error {
	for _, v := range p.Spec.Volumes {
		if v.Name != name {
			continue
		}
		switch {
		case v.DownwardAPI != nil:
			for _, it := range v.DownwardAPI.Items {
				if it.FieldRef == nil {
					return fmt.Errorf("downwardAPI item %s: only fieldRef is supported", it.Path)
				}
				m := annotationRef.FindStringSubmatch(it.FieldRef.FieldPath)
				if m == nil {
					return fmt.Errorf("downwardAPI item %s: field %s is not supported", it.Path, it.FieldRef.FieldPath)
				}
				if err := os.WriteFile(filepath.Join(dir, it.Path), []byte(p.Annotations[m[1]]), 0o444); err != nil {
					return err
				}
			}
		case v.Secret != nil:
			s, err := k.client.CoreV1().Secrets(p.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("secret volume %s: %w", name, err)
			}
			for _, it := range v.Secret.Items {
				if err := os.WriteFile(filepath.Join(dir, it.Path), s.Data[it.Key], 0o440); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// rewriteSpec translates the container paths inside the exec-task spec
// named by "--spec FILE" (already translated) into host paths.
func (k *kubeletStandIn) rewriteSpec(argv []string, hostPath func(string) string) error {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] != "--spec" {
			continue
		}
		b, err := os.ReadFile(argv[i+1])
		if err != nil {
			return err
		}
		sp := &exectask.Spec{}
		if err := json.Unmarshal(b, sp); err != nil {
			return fmt.Errorf("decoding the spec: %w", err)
		}
		sp.WorkDir, sp.CheckpointDir, sp.ResultFile = hostPath(sp.WorkDir), hostPath(sp.CheckpointDir), hostPath(sp.ResultFile)
		// The downward API file is read-only; write a translated copy.
		out := argv[i+1] + ".host.json"
		if err := exectask.WriteJSON(out, sp); err != nil {
			return err
		}
		argv[i+1] = out
	}
	return nil
}

// finish reports the container terminated.
func (k *kubeletStandIn) finish(ctx context.Context, p *corev1.Pod, code int32, reason, msg string) {
	now := metav1.Now()
	k.setStatus(ctx, p, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodSucceeded
		if code != 0 {
			s.Phase = corev1.PodFailed
		}
		s.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted", LastTransitionTime: now}}
		started := now
		if len(s.ContainerStatuses) > 0 && s.ContainerStatuses[0].State.Running != nil {
			started = s.ContainerStatuses[0].State.Running.StartedAt
		}
		c := p.Spec.Containers[0]
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, Started: ptr.To(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg, StartedAt: started, FinishedAt: now}}}}
	})
}

func (k *kubeletStandIn) setStatus(ctx context.Context, p *corev1.Pod, mutate func(*corev1.PodStatus)) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := k.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != p.UID || cur.Status.Phase == corev1.PodSucceeded || cur.Status.Phase == corev1.PodFailed {
			return nil
		}
		mutate(&cur.Status)
		_, err = k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		k.log("updating status of %s/%s: %v", p.Namespace, p.Name, err)
	}
}

// kill stops a deleted pod's process and confirms the deletion.
func (k *kubeletStandIn) kill(ctx context.Context, p *corev1.Pod) {
	k.mu.Lock()
	cmd := k.running[p.UID]
	k.started[p.UID] = true // never start it now
	k.mu.Unlock()
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	err := k.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &p.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		k.log("confirming deletion of %s/%s: %v", p.Namespace, p.Name, err)
	}
}

// shutdown kills every running command (the node goes away).
func (k *kubeletStandIn) shutdown() {
	k.mu.Lock()
	k.stopped = true
	for _, cmd := range k.running {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	k.mu.Unlock()
	close(k.stop)
	done := make(chan struct{})
	go func() { k.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
}

// memoryCgroup is a cgroup v1 memory cgroup for one container.
type memoryCgroup struct{ dir string }

func newMemoryCgroup(name string, limit int64) (*memoryCgroup, error) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	var parent string
	for _, line := range strings.Split(string(own), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), "memory") {
			parent = filepath.Join("/sys/fs/cgroup/memory", parts[2])
		}
	}
	if parent == "" {
		return nil, errors.New("no cgroup v1 memory hierarchy for this process")
	}
	cg := &memoryCgroup{dir: filepath.Join(parent, "kubelet-stand-in-"+name)}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating memory cgroup: %w", err)
	}
	v := []byte(fmt.Sprint(limit))
	if err := os.WriteFile(filepath.Join(cg.dir, "memory.limit_in_bytes"), v, 0o644); err != nil {
		cg.remove()
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes")); err == nil {
		if err := os.WriteFile(filepath.Join(cg.dir, "memory.memsw.limit_in_bytes"), v, 0o644); err != nil {
			cg.remove()
			return nil, err
		}
	}
	return cg, nil
}

func (cg *memoryCgroup) join(pid int) error {
	return os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), []byte(fmt.Sprint(pid)), 0o644)
}

// oomKills reads the oom_kill counter (0 for a nil cgroup).
func (cg *memoryCgroup) oomKills() int {
	if cg == nil {
		return 0
	}
	b, _ := os.ReadFile(filepath.Join(cg.dir, "memory.oom_control"))
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok {
			var v int
			fmt.Sscan(n, &v)
			return v
		}
	}
	return 0
}

// remove kills what is left in the cgroup and removes it.
func (cg *memoryCgroup) remove() {
	if cg == nil {
		return
	}
	for range 50 {
		b, _ := os.ReadFile(filepath.Join(cg.dir, "cgroup.procs"))
		pids := strings.Fields(string(b))
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			var pid int
			fmt.Sscan(p, &pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = os.Remove(cg.dir)
}

func tailString(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
