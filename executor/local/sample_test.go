package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

var sampleDir = filepath.Join("..", "..", "testdata", "sample")

// The sample workflow (prepare -> profile | fit -> evaluate, python3) runs
// end to end with real processes and real outputs; a second run with the
// same inputs starts no task process; --overwrite-cache runs every node
// again.
func TestSampleWorkflowRunsThenHitsCache(t *testing.T) {
	f := newFixture(t, sampleDir, nil, fixtureOpt{})
	ctx := context.Background()
	inputs := map[string]any{"rows": "400", "seed": "3"}

	first := f.run(ctx, registrar.KindWorkflow, "train", inputs)
	if first.Status != executor.StatusSucceeded {
		t.Fatalf("first run: %s: %s", first.Status, first.Error)
	}
	if got := f.starts(); got != 4 {
		t.Fatalf("first run started %d exec-task processes, want 4", got)
	}
	for _, n := range first.Nodes {
		if n.Cache != executor.CacheMiss || n.Attempts != 1 || n.Status != executor.StatusSucceeded {
			t.Errorf("first run node %s: cache %s attempts %d status %s", n.ID, n.Cache, n.Attempts, n.Status)
		}
	}
	r2 := first.Outputs["r2"]
	if r2.Type != executor.TypeFloat || r2.Scalar.(float64) < 0.8 {
		t.Errorf("r2 = %+v, want a float >= 0.8 from a least-squares fit", r2)
	}
	if rows := first.Outputs["rows"]; rows.Scalar != int64(400*8/10) && rows.Type != executor.TypeInt {
		t.Errorf("rows = %+v", rows)
	}
	model := first.Outputs["model"]
	if model.Type != executor.TypeFile || model.Size == 0 {
		t.Fatalf("model = %+v, want a stored file", model)
	}
	// The model is a real blob in the store, readable by its digest.
	h, _ := v1NewHash(model.Digest)
	b, err := store.ReadBlob(ctx, f.store, store.ExecutionRepo(f.project, domain), h, 1<<20)
	if err != nil || !bytes.Contains(b, []byte("weights")) && len(b) == 0 {
		t.Fatalf("reading the model blob: %v (%q)", err, b)
	}

	second := f.run(ctx, registrar.KindWorkflow, "train", map[string]any{"rows": 400, "seed": 3})
	if second.Status != executor.StatusSucceeded {
		t.Fatalf("second run: %s: %s", second.Status, second.Error)
	}
	if got := f.starts(); got != 4 {
		t.Fatalf("the cached run started %d more exec-task processes, want 0", got-4)
	}
	for _, n := range second.Nodes {
		if n.Cache != executor.CacheHit || n.Attempts != 0 {
			t.Errorf("second run node %s: cache %s attempts %d, want a hit without attempts", n.ID, n.Cache, n.Attempts)
		}
	}
	if !sameJSON(t, first.Outputs, second.Outputs) {
		t.Errorf("cached outputs differ: %v vs %v", first.Outputs, second.Outputs)
	}

	third, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "train"), Inputs: inputs, OverwriteCache: true}, nil)
	if err != nil || third.Status != executor.StatusSucceeded {
		t.Fatalf("overwrite-cache run: %v %+v", err, third)
	}
	if got := f.starts(); got != 8 {
		t.Errorf("--overwrite-cache started %d processes, want 4 more", got-4)
	}

	// Records: get and list read what the runs wrote.
	got, err := executor.Get(ctx, f.store, f.project, domain, first.ID)
	if err != nil || got.Status != executor.StatusSucceeded || len(got.Nodes) != 4 {
		t.Fatalf("Get: %v %+v", err, got)
	}
	list, err := executor.List(ctx, f.store, f.project, domain, executor.ListOptions{})
	if err != nil || len(list) != 3 || list[0].ID != third.ID || list[2].ID != first.ID {
		t.Fatalf("List: %v, %d executions", err, len(list))
	}
}

// A launch plan runs its workflow with its inputs; an input given at
// launch overrides the plan's.
func TestLaunchPlanInputsAndOverride(t *testing.T) {
	f := newFixture(t, sampleDir, nil, fixtureOpt{})
	ex := f.run(context.Background(), registrar.KindLaunchPlan, "nightly", map[string]any{"rows": "300"})
	if ex.Status != executor.StatusSucceeded {
		t.Fatalf("%s: %s", ex.Status, ex.Error)
	}
	if ex.Inputs["rows"].Scalar != int64(300) || ex.Inputs["seed"].Scalar != int64(7) {
		t.Errorf("inputs = %v, want rows 300 (given) and seed 7 (the plan's)", ex.Inputs)
	}
	if ex.Workflow == nil || ex.Workflow.Name != "train" {
		t.Errorf("workflow = %v", ex.Workflow)
	}
}

// Wrong launch inputs are refused before anything is written or run.
func TestWrongInputsRefusedBeforeAnythingRuns(t *testing.T) {
	f := newFixture(t, sampleDir, nil, fixtureOpt{})
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"text for an int", map[string]any{"rows": "many", "seed": "1"}, `input "rows": want an int, got "many"`},
		{"float for an int", map[string]any{"rows": 2.5, "seed": 1}, `input "rows": want an int, got 2.5`},
		{"missing", map[string]any{"rows": 10}, `input "seed": missing (a int)`},
		{"unknown", map[string]any{"rows": 10, "seed": 1, "epochs": 3}, `input "epochs": not an input`},
		{"bool for an int", map[string]any{"rows": true, "seed": 1}, `want an int, got bool true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.engine.Run(ctx, executor.Request{Target: f.id(registrar.KindWorkflow, "train"), Inputs: tc.inputs}, nil)
			if !errors.Is(err, executor.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	list, err := executor.List(ctx, f.store, f.project, domain, executor.ListOptions{})
	if err != nil || len(list) != 0 {
		t.Errorf("executions recorded after refused launches: %d (%v)", len(list), err)
	}
	if n := f.starts(); n != 0 {
		t.Errorf("%d exec-task processes started for refused launches", n)
	}
}

func sameJSON(t testing.TB, a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

var _ = strconv.Itoa
