package local_test

import (
	"context"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

// Each attempt records what its command used, measured by exec-task: the
// attempt that was OOM-killed at its 160Mi limit peaked near the limit,
// and both attempts of a retried task used some CPU and memory.
func TestAttemptsRecordWhatTheyUsed(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ctx := context.Background()

	n := onlyNode(t, f.run(ctx, registrar.KindTask, "hog", nil))
	if len(n.AttemptLog) != 1 || n.AttemptLog[0].Usage == nil {
		t.Fatalf("attempt log %+v", n.AttemptLog)
	}
	if u := n.AttemptLog[0].Usage; u.MaxRSSBytes < 100<<20 || u.MaxRSSBytes > 400<<20 {
		t.Errorf("the OOM-killed attempt peaked at %d MiB, want about its 160 MiB limit", u.MaxRSSBytes>>20)
	}

	n = onlyNode(t, f.run(ctx, registrar.KindTask, "flaky", nil))
	if n.Status != executor.StatusSucceeded || len(n.AttemptLog) != 2 {
		t.Fatalf("flaky: %s, attempt log %+v", n.Status, n.AttemptLog)
	}
	for _, a := range n.AttemptLog {
		if a.Usage == nil || a.Usage.MaxRSSBytes <= 0 || a.Usage.CPUSeconds < 0 {
			t.Errorf("attempt %d used %+v", a.Number, a.Usage)
		}
	}
}
