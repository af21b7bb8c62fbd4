//go:build adversarial

package executor_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/scalespec"
	"github.com/runway-ci/runway/registrar"
)

// Issue 16, item 11: a runway.yaml of 500 tasks and a workflow of 1,000
// nodes stay within stated time and memory. The bounds are generous (this
// machine's 2 cores are shared); the benchmarks below give the figures.
const (
	scaleTasks = scalespec.Tasks
	scaleNodes = scalespec.Nodes
	// scaleWidth: node i reads node i-scaleWidth's output, so the DAG is
	// 100 deep and 10 wide.
	scaleWidth = scalespec.Width

	boundCompile = 20 * time.Second  // parse + compile + register 500 tasks and the workflow
	boundRun     = 120 * time.Second // run the 1,000 nodes with an in-process runner
	boundHeap    = 512 << 20         // live heap after each step
)

// scaleYAML is a runway.yaml of scaleTasks tasks and one workflow of
// scaleNodes nodes (internal/testkit/scalespec, which the web view's
// test of this workflow's execution page shares).
func scaleYAML() []byte { return scalespec.YAML() }

// adder is an in-process runner: y = x + 1. The engine's own work (DAG,
// cache, records, store writes) is what scales here, not task processes.
type adder struct{}

func (adder) Run(_ context.Context, a executor.Attempt) (*executor.AttemptResult, error) {
	x, _ := a.Inputs["x"].Scalar.(int64)
	return &executor.AttemptResult{Outputs: executor.Values{"y": {Type: executor.TypeInt, Scalar: x + 1}}}, nil
}

const scaleVersion = scalespec.Version

func compileScale(tb testing.TB, s store.Store, yaml []byte) {
	tb.Helper()
	ctx := context.Background()
	t0 := time.Now()
	sp, err := spec.Parse("runway.yaml", yaml)
	if err != nil {
		tb.Fatal(err)
	}
	t1 := time.Now()
	ents, err := registrar.Compile(ctx, sp, registrar.Build{Version: scaleVersion}, registrar.CompileOptions{Domain: "development", Store: s})
	if err != nil {
		tb.Fatal(err)
	}
	if len(ents) != scaleTasks+1 {
		tb.Fatalf("%d entities", len(ents))
	}
	t2 := time.Now()
	if _, err := (&registrar.Registrar{Store: s}).Register(ctx, "development", ents); err != nil {
		tb.Fatal(err)
	}
	if t, ok := tb.(*testing.T); ok {
		t.Logf("parse %s, compile %s, register %d entities %s", t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond),
			len(ents), time.Since(t2).Round(time.Millisecond))
	}
}

func runScale(tb testing.TB, s store.Store) *executor.Execution {
	tb.Helper()
	e, err := executor.New(s, adder{}, executor.WithParallelism(8))
	if err != nil {
		tb.Fatal(err)
	}
	ex, err := e.Run(context.Background(), executor.Request{
		Target: registrar.ID{Project: "scale", Domain: "development", Kind: registrar.KindWorkflow, Name: "big", Version: scaleVersion},
		Inputs: map[string]any{"seed": 0},
	}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ex
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestAdversarialScale(t *testing.T) {
	yaml := scaleYAML()
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	compileScale(t, s, yaml)
	compile, heap := time.Since(start), liveHeap()
	t.Logf("runway.yaml of %d tasks and a %d-node workflow (%d KiB): parsed, compiled and registered in %s; live heap %d MiB",
		scaleTasks, scaleNodes, len(yaml)>>10, compile.Round(time.Millisecond), heap>>20)
	if compile > boundCompile || heap > boundHeap {
		t.Errorf("compiling took %s (bound %s), live heap %d MiB (bound %d MiB)", compile, boundCompile, heap>>20, boundHeap>>20)
	}

	start = time.Now()
	ex := runScale(t, s)
	run, heap := time.Since(start), liveHeap()
	t.Logf("%d nodes run in %s; live heap %d MiB", len(ex.Nodes), run.Round(time.Millisecond), heap>>20)
	if ex.Status != executor.StatusSucceeded || len(ex.Nodes) != scaleNodes {
		t.Fatalf("execution %s with %d nodes: %s", ex.Status, len(ex.Nodes), ex.Error)
	}
	// The chain through n0999 has 100 links, each adding 1 to the seed 0.
	if got := ex.Outputs["last"].Scalar; got != int64(scaleNodes/scaleWidth) {
		t.Errorf("output last = %v, want %d", got, scaleNodes/scaleWidth)
	}
	if run > boundRun || heap > boundHeap {
		t.Errorf("running took %s (bound %s), live heap %d MiB (bound %d MiB)", run, boundRun, heap>>20, boundHeap>>20)
	}
}

func BenchmarkAdversarialCompile500Tasks(b *testing.B) {
	yaml := scaleYAML()
	b.ReportAllocs()
	for range b.N {
		s, err := layout.New(b.TempDir(), layout.WithoutFsync())
		if err != nil {
			b.Fatal(err)
		}
		compileScale(b, s, yaml)
	}
}

func BenchmarkAdversarialRun1000Nodes(b *testing.B) {
	s, err := layout.New(b.TempDir(), layout.WithoutFsync())
	if err != nil {
		b.Fatal(err)
	}
	compileScale(b, s, scaleYAML())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		runScale(b, s)
	}
}
