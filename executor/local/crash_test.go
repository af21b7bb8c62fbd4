package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/registrar"
)

// engineConfig is what the crash test hands the engine process.
type engineConfig struct {
	StoreDir string         `json:"storeDir"`
	Work     string         `json:"work"`
	Count    string         `json:"count"`
	Target   registrar.ID   `json:"target"`
	Inputs   map[string]any `json:"inputs"`
}

// engineMain runs one execution in this process, printing its ID first.
func engineMain(cfg string) int {
	var c engineConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	s, err := layout.New(c.StoreDir, layout.WithoutFsync())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := local.New(s.String(), local.WithExecTask(os.Args[0], "exec-task"), local.WithEnv(envCount+"="+c.Count), local.WithWorkDir(c.Work))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	e, err := executor.New(s, r)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ex, err := e.Launch(ctx, executor.Request{Target: c.Target, Inputs: c.Inputs})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println(ex.ID)
	if _, err := e.Execute(ctx, ex, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// kill -9 of the runway process in the middle of an execution, then
// recover: the node that succeeded is reused, the interrupted one and its
// downstream run.
// crashMidNodeB runs the chain workflow in a child engine process and
// SIGKILLs it while node b runs (a succeeded); it returns the execution id.
func crashMidNodeB(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	cfg, _ := json.Marshal(engineConfig{StoreDir: f.storeDir, Work: f.work, Count: f.count,
		Target: f.id(registrar.KindWorkflow, "chain"), Inputs: map[string]any{"seconds": 1.5}})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envEngine+"="+string(cfg))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("reading the execution id: %v", err)
	}
	id := strings.TrimSpace(line)

	deadline := time.Now().Add(30 * time.Second)
	for {
		ex, err := executor.Get(ctx, f.store, f.project, domain, id)
		if err == nil && ex.Node("a").Status == executor.StatusSucceeded && ex.Node("b").Status == executor.StatusRunning && ex.Node("b").Attempts == 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("execution %s never reached node b: %v %+v", id, err, ex)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	crashed, err := executor.Get(ctx, f.store, f.project, domain, id)
	if err != nil || crashed.Status != executor.StatusRunning {
		t.Fatalf("crashed record: %v %+v", err, crashed)
	}
	return id
}

func TestKill9ThenRecover(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ctx := context.Background()
	id := crashMidNodeB(t, f)
	rec, err := f.engine.Recover(ctx, f.project, domain, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != executor.StatusSucceeded || rec.RecoveredFrom != id {
		t.Fatalf("recovery: %s (%s), recovered from %q", rec.Status, rec.Error, rec.RecoveredFrom)
	}
	a, b, c := mustNode(t, rec, "a"), mustNode(t, rec, "b"), mustNode(t, rec, "c")
	if a.RecoveredFrom != id || a.Attempts != 0 || a.Cache != executor.CacheHit {
		t.Errorf("node a: %+v, want reused from %s", a, id)
	}
	if b.Attempts != 1 || c.Attempts != 1 || c.Outputs["done"].Scalar != true {
		t.Errorf("nodes b %+v c %+v, want each run once", b, c)
	}
	// a ran once (before the crash); b twice (crash, recovery); c once.
	if n := f.starts(); n != 4 {
		t.Errorf("%d exec-task processes, want 4", n)
	}
	if _, err := f.engine.Recover(ctx, f.project, domain, rec.ID, nil); !errors.Is(err, executor.ErrNotRecoverable) {
		t.Errorf("recovering a succeeded execution: %v", err)
	}
}

// Two executions with the same cache keys at the same time run each task
// once; the second reuses the first's results.
func TestConcurrentExecutionsRunEachKeyOnce(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	other := faultsFixtureEngine(t, f)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]*executor.Execution, 2)
	for i, e := range []*executor.Engine{f.engine, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ex, err := e.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "chain"), Inputs: map[string]any{"seconds": 0.4}}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = ex
		}()
	}
	wg.Wait()
	hits := 0
	for _, ex := range results {
		if ex == nil || ex.Status != executor.StatusSucceeded {
			t.Fatalf("execution: %+v", ex)
		}
		for _, n := range ex.Nodes {
			if n.Cache == executor.CacheHit {
				hits++
			}
		}
	}
	if n := f.starts(); n != 3 || hits != 3 {
		t.Errorf("%d exec-task processes and %d cache hits for two executions of 3 nodes, want 3 and 3", n, hits)
	}
}

func faultsFixtureEngine(t testing.TB, f *fixture) *executor.Engine {
	r, err := local.New(f.layout.String(), local.WithExecTask(os.Args[0], "exec-task"), local.WithEnv(envCount+"="+f.count), local.WithWorkDir(f.work))
	if err != nil {
		t.Fatal(err)
	}
	s, err := layout.New(f.storeDir, layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	e, err := executor.New(s, r, executor.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Cancelling the context stops every running task and records the
// execution as aborted.
func TestCancelAbortsExecution(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running sync.Once
	obs := executor.ObserverFunc(func(ev executor.Event) {
		if ev.Node != nil && ev.Node.ID == "b" && ev.Type == executor.EventNodeAttempt && ev.Node.Attempts == 1 {
			running.Do(func() { time.AfterFunc(300*time.Millisecond, cancel) })
		}
	})
	start := time.Now()
	ex, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "chain"), Inputs: map[string]any{"seconds": 30}}, obs)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	if ex.Status != executor.StatusAborted || mustNode(t, ex, "b").Status != executor.StatusAborted || mustNode(t, ex, "c").Status != executor.StatusSkipped {
		t.Fatalf("status %s, b %s, c %s", ex.Status, mustNode(t, ex, "b").Status, mustNode(t, ex, "c").Status)
	}
	stored, err := executor.Get(context.Background(), f.store, f.project, domain, ex.ID)
	if err != nil || stored.Status != executor.StatusAborted {
		t.Errorf("stored record: %v %+v", err, stored)
	}
}

// After kill -9, resume continues the same execution under its own id:
// node a keeps its result, b and c run, and nothing runs twice but b.
func TestKill9ThenResume(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ctx := context.Background()
	id := crashMidNodeB(t, f)
	res, err := f.engine.Resume(ctx, f.project, domain, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != id || res.Status != executor.StatusSucceeded || res.RecoveredFrom != "" {
		t.Fatalf("resume: %s %s (%s)", res.ID, res.Status, res.Error)
	}
	if a := mustNode(t, res, "a"); a.Attempts != 1 || a.Status != executor.StatusSucceeded {
		t.Errorf("node a: %+v, want its first result kept", a)
	}
	if n := f.starts(); n != 4 {
		t.Errorf("%d exec-task processes, want 4 (a, b killed, b, c)", n)
	}
	if _, err := f.engine.Resume(ctx, f.project, domain, id, nil); !errors.Is(err, executor.ErrNotRecoverable) {
		t.Errorf("resuming a finished execution: %v", err)
	}
}
