package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// The fixtures are real: entities registered by the registrar into an
// on-disk store, executions run by the executor's engine (with a runner
// that answers in-process instead of starting task processes, so a
// 1,000-node workflow runs in a second) and promotions made by the
// promoter. The pages read what those wrote.

const testProject = "lineage"

type fixture struct {
	t       testing.TB
	s       store.Store
	plat    *platform.Config
	version string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s, err := layout.New(filepath.Join(t.TempDir(), "store"), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	plat := platform.Default()
	// Staging needs an approval, so promotion records carry approvals.
	plat.Promote.Rules = []platform.PromotionRule{{To: "staging", From: []string{"development"}, Approvals: 1}}
	return &fixture{t: t, s: s, plat: plat, version: strings.Repeat("ab12", 10)}
}

func (f *fixture) register(domain string, ents ...*registrar.Entity) {
	f.t.Helper()
	r := &registrar.Registrar{Store: f.s}
	if _, err := r.Register(context.Background(), domain, ents); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) task(name string, in, out map[string]string) *registrar.Entity {
	return &registrar.Entity{Kind: registrar.KindTask, Project: testProject, Name: name, Version: f.version,
		Task: &registrar.Task{
			Image:     "registry.invalid/lineage/image@sha256:" + strings.Repeat("1", 64),
			Bundle:    "sha256:" + strings.Repeat("2", 64),
			Command:   []string{"python3", "-m", "pipeline." + name},
			Inputs:    in,
			Outputs:   out,
			Resources: registrar.Resources{Requests: map[string]string{"cpu": "250m", "memory": "64Mi"}, Limits: map[string]string{"cpu": "1", "memory": "256Mi"}},
			Retries:   1,
			Timeout:   "2m0s",
		}}
}

func (f *fixture) ref(name string) registrar.Ref {
	return registrar.Ref{Project: testProject, Name: name, Version: f.version}
}

// gridWorkflow is a workflow of n nodes in rows of width: the first row
// are sources, every later node joins two nodes of the row before it.
// Node IDs are prefix plus a number.
func (f *fixture) gridWorkflow(name string, n, width int) *registrar.Entity {
	wf := &registrar.Workflow{Inputs: map[string]string{"seed": "string"}, Outputs: map[string]string{}}
	for i := range n {
		id := fmt.Sprintf("n%04d", i)
		node := registrar.Node{ID: id, Task: f.ref("join"), Inputs: map[string]any{}}
		if i < width {
			node.Task = f.ref("source")
			node.Inputs["seed"] = "{{workflow.inputs.seed}}"
		} else {
			a, b := i-width, i-width+1
			if (i+1)%width == 0 {
				b = i - width - 1
			}
			node.Inputs["a"] = fmt.Sprintf("{{n%04d.outputs.out}}", a)
			node.Inputs["b"] = fmt.Sprintf("{{n%04d.outputs.out}}", b)
		}
		wf.Nodes = append(wf.Nodes, node)
	}
	wf.Outputs["last"] = fmt.Sprintf("{{n%04d.outputs.out}}", n-1)
	return &registrar.Entity{Kind: registrar.KindWorkflow, Project: testProject, Name: name, Version: f.version, Workflow: wf}
}

// registerGrid registers the two tasks and a grid workflow in domain.
func (f *fixture) registerGrid(domain, name string, n, width int) {
	f.register(domain,
		f.task("source", map[string]string{"seed": "string"}, map[string]string{"out": "string", "report": "file"}),
		f.task("join", map[string]string{"a": "string", "b": "string"}, map[string]string{"out": "string", "report": "file"}),
		f.gridWorkflow(name, n, width))
}

// runner answers attempts in-process: each node writes a string output
// and a small report file (a real blob in the store). fail names nodes
// whose attempts fail with a user error carrying message; hold names
// nodes that wait until their channel is closed.
type runner struct {
	s       store.Store
	dir     string
	fail    map[string]string
	out     map[string]string
	hold    map[string]chan struct{}
	mu      sync.Mutex
	started map[string]bool
}

func (f *fixture) runner() *runner {
	return &runner{s: f.s, dir: f.t.TempDir(), fail: map[string]string{}, out: map[string]string{}, hold: map[string]chan struct{}{},
		started: map[string]bool{}}
}

func (r *runner) Run(ctx context.Context, a executor.Attempt) (*executor.AttemptResult, error) {
	r.mu.Lock()
	r.started[a.NodeID] = true
	r.mu.Unlock()
	if release, ok := r.hold[a.NodeID]; ok {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	used := &executor.Usage{MaxRSSBytes: 48 << 20, CPUSeconds: 0.25}
	if msg, ok := r.fail[a.NodeID]; ok {
		return nil, &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonExitCode, ExitCode: 1, Message: msg, Usage: used}
	}
	text := "done " + a.NodeID
	if o, ok := r.out[a.NodeID]; ok {
		text = o
	}
	p := filepath.Join(r.dir, a.ExecutionID+"-"+a.NodeID+"-report.txt")
	if err := os.WriteFile(p, []byte("report of "+a.NodeID+"\n"), 0o644); err != nil {
		return nil, err
	}
	rep, err := executor.PutFile(ctx, r.s, a.DataRepo, p)
	if err != nil {
		return nil, err
	}
	return &executor.AttemptResult{Outputs: executor.Values{
		"out":    {Type: executor.TypeString, Scalar: text},
		"report": rep,
	}, Duration: time.Millisecond, Usage: used}, nil
}

func (r *runner) wasStarted(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[id]
}

// run runs a workflow of the fixture's version in domain to the end.
func (f *fixture) run(domain, workflow string, r *runner, inputs map[string]any) *executor.Execution {
	f.t.Helper()
	ex, err := f.engine(r).Run(context.Background(), executor.Request{
		Target: registrar.ID{Project: testProject, Domain: domain, Kind: registrar.KindWorkflow, Name: workflow, Version: f.version},
		Inputs: inputs}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return ex
}

// start launches a workflow of the fixture's version in domain and runs it
// in the background; the execution is running (or queued) when start
// returns. At the end of the test every held node is released and the run
// waited for.
func (f *fixture) start(domain, workflow string, r *runner, inputs map[string]any) *executor.Execution {
	f.t.Helper()
	e := f.engine(r)
	ex, err := e.Launch(context.Background(), executor.Request{
		Target: registrar.ID{Project: testProject, Domain: domain, Kind: registrar.KindWorkflow, Name: workflow, Version: f.version},
		Inputs: inputs})
	if err != nil {
		f.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.Execute(context.Background(), ex, nil)
	}()
	f.t.Cleanup(func() {
		for _, c := range r.hold {
			select {
			case <-c:
			default:
				close(c)
			}
		}
		<-done
	})
	return ex
}

func (f *fixture) engine(r *runner) *executor.Engine {
	f.t.Helper()
	e, err := executor.New(f.s, r, executor.WithParallelism(8), executor.WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// promote promotes the fixture's version from development to staging.
func (f *fixture) promote(req promote.Request) *promote.Report {
	f.t.Helper()
	p, err := promote.New(f.s, f.plat)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Project, req.Version = testProject, f.version
	rep, err := p.Promote(context.Background(), req)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// server serves the fixture's store through the view, anonymous.
func (f *fixture) server(o Options) *httptest.Server {
	f.t.Helper()
	if o.Auth == nil {
		o.Auth = Anonymous(false)
	}
	o.Platform = f.plat
	h, err := New(f.s, o)
	if err != nil {
		f.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	f.t.Cleanup(srv.Close)
	return srv
}

// get fetches path from srv and returns the status and body.
func get(t testing.TB, srv *httptest.Server, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.String()
}
