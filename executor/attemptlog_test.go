package executor_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/registrar"
)

// flaky fails each node's first attempts with a user error, then succeeds.
type flaky struct {
	mu    sync.Mutex
	fails int
	seen  map[string]int
}

func (f *flaky) Run(ctx context.Context, a executor.Attempt) (*executor.AttemptResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[a.NodeID]++
	if f.seen[a.NodeID] <= f.fails {
		return nil, &executor.TaskError{Kind: executor.UserFailure, Reason: executor.ReasonExitCode, ExitCode: 3, Message: "attempt failed",
			Usage: &executor.Usage{MaxRSSBytes: int64(f.seen[a.NodeID]) << 20}}
	}
	return &executor.AttemptResult{Outputs: executor.Values{"n": {Type: executor.TypeInt, Scalar: int64(1)}},
		Usage: &executor.Usage{MaxRSSBytes: 7 << 20, CPUSeconds: 0.25}}, nil
}

// Every attempt of a node is in its record: when it ran, what it used and,
// for a failed one, its classified failure, so the lineage shows what the
// retries hid.
func TestRecordKeepsEveryAttempt(t *testing.T) {
	ctx := context.Background()
	s, err := layout.New(filepath.Join(t.TempDir(), "store"), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	version := strings.Repeat("c", 40)
	task := &registrar.Entity{Kind: registrar.KindTask, Project: "p", Name: "t", Version: version,
		Task: &registrar.Task{Command: []string{"true"}, Outputs: map[string]string{"n": "int"}, Retries: 2}}
	if _, err := (&registrar.Registrar{Store: s}).Register(ctx, "development", []*registrar.Entity{task}); err != nil {
		t.Fatal(err)
	}
	e, err := executor.New(s, &flaky{fails: 2, seen: map[string]int{}}, executor.WithBackoff(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.Run(ctx, executor.Request{Target: task.ID("development")}, nil)
	if err != nil || ex.Status != executor.StatusSucceeded {
		t.Fatalf("%v %+v", err, ex)
	}
	got, err := executor.Get(ctx, s, "p", "development", ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	log := got.Nodes[0].AttemptLog
	if len(log) != 3 || got.Nodes[0].Attempts != 3 {
		t.Fatalf("attempt log %+v", log)
	}
	for i, a := range log {
		if a.Number != i+1 || a.Finished == nil || a.Finished.Before(a.Started) {
			t.Errorf("attempt %d: %+v", i+1, a)
		}
		failed := a.Failure != nil && a.Failure.Reason == executor.ReasonExitCode && a.Failure.ExitCode == 3
		if failed != (i < 2) {
			t.Errorf("attempt %d failure %+v", i+1, a.Failure)
		}
		// What each attempt used, from the runner: a failure's own usage,
		// the successful result's.
		want := int64(i+1) << 20
		if i == 2 {
			want = 7 << 20
		}
		if a.Usage == nil || a.Usage.MaxRSSBytes != want {
			t.Errorf("attempt %d used %+v, want %d bytes", i+1, a.Usage, want)
		}
	}
}
