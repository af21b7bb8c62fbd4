package local_test

import (
	"context"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

// A task that checkpointed before failing continues from its checkpoint
// after `runway recover`, as it does on a retry (issue 17, item 11).
func TestRecoverContinuesTheCheckpoint(t *testing.T) {
	f := newFixture(t, "", map[string]string{"runway.yaml": `project: ckpt
tasks:
  - name: steps
    command: ["sh", "-c", "if [ -f $RUNWAY_CHECKPOINT/step ]; then echo $(cat $RUNWAY_CHECKPOINT/step) > $RUNWAY_OUTPUTS/resumed_at; else echo 5 > $RUNWAY_CHECKPOINT/step; exit 1; fi"]
    outputs: {resumed_at: int}
`}, fixtureOpt{})
	ctx := context.Background()
	first := f.run(ctx, registrar.KindTask, "steps", nil)
	if first.Status != executor.StatusFailed {
		t.Fatalf("first run: %s, want failed after checkpointing step 5", first.Status)
	}
	ex, err := f.engine.Recover(ctx, f.project, domain, first.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := onlyNode(t, ex)
	if ex.Status != executor.StatusSucceeded || n.Outputs["resumed_at"].Scalar != int64(5) {
		t.Fatalf("recovered: %s, outputs %v, failure %+v; want it to resume at step 5", ex.Status, n.Outputs, n.Failure)
	}
	// A recovery of the recovery still continues the same checkpoint.
	if n.Checkpoint != first.ID+"/"+n.ID {
		t.Errorf("checkpoint %q, want the first execution's %q", n.Checkpoint, first.ID+"/"+n.ID)
	}
}
