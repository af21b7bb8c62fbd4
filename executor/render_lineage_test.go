package executor

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The lineage text shows each node's inputs as well as its outputs, and a
// failure's whole message: it used to stop at "stderr ends with:" (issue
// 17, item 7).
func TestRenderTreeShowsInputsAndTheWholeError(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Second)
	e := &Execution{ID: "01x", Status: StatusFailed, Started: &start, Finished: &end,
		Error: "node \"prep\" failed: ExitCode (user failure): the command exited with code 1; stderr ends with:\nTraceback\nValueError: rows must be positive",
		Nodes: []*NodeRecord{{ID: "prep", Status: StatusFailed, Cache: CacheMiss, Attempts: 1, Started: &start, Finished: &end,
			Inputs: Values{"rows": {Type: TypeInt, Scalar: int64(-5)}},
			Failure: &TaskError{Kind: UserFailure, Reason: ReasonExitCode, ExitCode: 1,
				Message: "the command exited with code 1; stderr ends with:\nTraceback\nValueError: rows must be positive"}}}}
	var b bytes.Buffer
	if err := RenderTree(&b, e, end); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"inputs:  rows=-5", "stderr ends with:", "| Traceback", "| ValueError: rows must be positive"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}
