package local_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

func benchYAML() string {
	var b strings.Builder
	b.WriteString("project: bench\ntasks:\n  - name: noop\n    command: [\"true\"]\nworkflows:\n  - name: fanout\n    nodes:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "      - {id: n%d, task: noop}\n", i)
	}
	return b.String()
}

// runway's own cost for one node whose command does nothing: record
// writes, spawning exec-task, spec and result files, process group and
// cleanup (not cached, so a process starts every time).
func BenchmarkNoopNode(b *testing.B) {
	f := newFixture(b, "", map[string]string{"runway.yaml": benchYAML()}, fixtureOpt{})
	ctx := context.Background()
	before := cpuTime()
	b.ResetTimer()
	for range b.N {
		ex := f.run(ctx, registrar.KindTask, "noop", nil)
		if ex.Status != executor.StatusSucceeded {
			b.Fatal(ex.Error)
		}
	}
	b.StopTimer()
	// Wall time depends on what else the machine runs; CPU time (this
	// process and its children) does not.
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// 100 independent no-op nodes with parallelism 8.
func BenchmarkFanOut100Parallelism8(b *testing.B) {
	f := newFixture(b, "", map[string]string{"runway.yaml": benchYAML()}, fixtureOpt{})
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		ex, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "fanout"), Parallelism: 8}, nil)
		if err != nil || ex.Status != executor.StatusSucceeded {
			b.Fatal(err, ex.Error)
		}
	}
}

// The sample workflow when every node is a cache hit.
func BenchmarkSampleCacheHit(b *testing.B) {
	f := newFixture(b, sampleDir, nil, fixtureOpt{})
	ctx := context.Background()
	in := map[string]any{"rows": 200, "seed": 1}
	f.run(ctx, registrar.KindWorkflow, "train", in)
	b.ResetTimer()
	for range b.N {
		ex := f.run(ctx, registrar.KindWorkflow, "train", in)
		if ex.Status != executor.StatusSucceeded || ex.Nodes[0].Cache != executor.CacheHit {
			b.Fatal(ex.Error)
		}
	}
	b.StopTimer()
	if n := f.starts(); n != 4 {
		b.Fatalf("%d processes", n)
	}
}
