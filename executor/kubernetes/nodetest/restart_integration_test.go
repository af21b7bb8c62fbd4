//go:build integration

package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor"
	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/registrar"
)

// gateTask is a task that reports its start to an HTTP gate on the
// node's loopback (pods use the host network), waits until the gate
// opens and writes the gate's answer as its output n.
const gateTask = `import os, time, urllib.request as u
base = os.environ["GATE"]
u.urlopen(base + "/started").read()
while True:
    try:
        v = u.urlopen(base + "/gate").read().decode()
        break
    except Exception:
        time.sleep(0.2)
with open(os.path.join(os.environ["RUNWAY_OUTPUTS"], "n"), "w") as f:
    f.write(v)
`

// restartAdoptsOnNode is runway restarted while a task runs on the real
// node: a runway process (the test binary as runnerMain) creates the
// attempt's Job and is killed with SIGKILL while the container waits at
// an HTTP gate; a new Runner executing the same attempt gets
// AlreadyExists, adopts the Job (same UID), and reports the container's
// result once the gate opens. One pod ran, its container once.
func restartAdoptsOnNode(t *testing.T, e *env, image, plat string) {
	ctx := context.Background()
	pc, err := platform.Load(plat)
	if err != nil {
		t.Fatal(err)
	}
	var started atomic.Int32
	var open atomic.Bool
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/started":
			started.Add(1)
		case "/gate":
			if !open.Load() {
				http.Error(w, "closed", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "7")
		default:
			http.NotFound(w, r)
		}
	}))
	defer gate.Close()

	a := executor.Attempt{
		ExecutionID: executor.NewID(time.Now()), NodeID: "gate", Number: 1, Project: "restart", Domain: "development",
		TaskRef: registrar.Ref{Project: "restart", Name: "gate", Version: strings.Repeat("d", 40)},
		Task: registrar.Task{Image: image, Command: []string{"python3", "-c", gateTask},
			Env: map[string]string{"GATE": gate.URL}},
		Inputs: executor.Values{}, Outputs: executor.Interface{"n": executor.TypeInt},
		Limits:   executor.Limits{MilliCPU: 100, MemoryBytes: 64 << 20},
		DataRepo: "restart/development/execution",
	}
	sel := metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(a.ExecutionID)}
	ns := "restart-development"

	// The first runway.
	cfg, err := json.Marshal(runnerConfig{Kubeconfig: e.cp.Kubeconfig, Platform: plat, Store: e.reg.Host + "/runway", Attempt: a})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envRunner+"="+string(cfg))
	childLog := &lockedBuffer{}
	child.Stdout, child.Stderr = childLog, childLog
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = child.Wait(); close(exited) }()
	defer func() { _ = child.Process.Kill(); <-exited }()

	// Wait until its Job's container runs the task and waits at the gate.
	for deadline := time.Now().Add(2 * time.Minute); started.Load() == 0; time.Sleep(200 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("the first runway exited before its task started:\n%s", childLog)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task did not reach the gate within 2m\nrunway:\n%s\npods:\n%s", childLog, e.podLogs(ns, a.ExecutionID))
		}
	}
	jobs, err := e.admin.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("the first runway's Job: %v (%d Jobs)", err, len(jobs.Items))
	}
	jobUID := jobs.Items[0].UID
	pods, err := e.admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the first runway's pod: %v (%d pods)", err, len(pods.Items))
	}
	podUID := pods.Items[0].UID

	// runway dies: nothing deletes the Job.
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited

	// runway starts again and executes the same attempt.
	logs := &lockedBuffer{}
	r, err := kexec.New(e.admin, e.reg.Host+"/runway", kexec.WithPlatform(pc),
		kexec.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type outcome struct {
		res *executor.AttemptResult
		err error
	}
	done := make(chan outcome, 1)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	go func() { res, err := r.Run(rctx, a); done <- outcome{res, err} }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), "adopting existing Job"); time.Sleep(100 * time.Millisecond) {
		select {
		case o := <-done:
			t.Fatalf("the new runner's attempt ended (%v) without adopting the Job:\n%s", o.err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new runner did not adopt the Job within 1m:\n%s", logs)
		}
	}
	open.Store(true)
	var o outcome
	select {
	case o = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the adopted attempt did not end within 3m\n%s", logs)
	}
	if o.err != nil {
		t.Fatalf("the adopted attempt: %v\n%s\npods:\n%s", o.err, logs, e.podLogs(ns, a.ExecutionID))
	}
	if n := o.res.Outputs["n"]; n.Scalar != int64(7) {
		t.Errorf("the adopted attempt's output n = %+v, want 7 (the gate's answer)", n)
	}
	if strings.Contains(logs.String(), "created Job") {
		t.Errorf("the new runner created a Job:\n%s", logs)
	}
	jobs, err = e.admin.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil || len(jobs.Items) != 1 || jobs.Items[0].UID != jobUID {
		t.Errorf("after the restart: %v, %d Jobs, want the one Job %s", err, len(jobs.Items), jobUID)
	}
	pods, err = e.admin.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil || len(pods.Items) != 1 || pods.Items[0].UID != podUID {
		t.Fatalf("after the restart: %v, %d pods, want the one pod %s", err, len(pods.Items), podUID)
	}
	p := pods.Items[0]
	if st := p.Status.ContainerStatuses; len(st) != 1 || st[0].RestartCount != 0 || p.Spec.NodeName != e.node.Name {
		t.Errorf("pod %s on %q: container statuses %+v, want one container run once on the real node", p.Name, p.Spec.NodeName, st)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("pod restart policy %s", p.Spec.RestartPolicy)
	}
	if n := started.Load(); n != 1 {
		t.Errorf("the task started %d times, want once", n)
	}
	t.Logf("Job %s (uid %s) adopted after runway was killed; its one pod's result arrived: n=%v", jobs.Items[0].Name, jobUID, o.res.Outputs["n"].Scalar)
}
