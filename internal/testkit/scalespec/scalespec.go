// Package scalespec is the adversarial suite's large pipeline (issue 16
// item 11), in one place for every test that needs it: a runway.yaml of
// Tasks tasks and one workflow, "big", of Nodes nodes in which node i reads
// node i-Width's output, so the DAG is Nodes/Width deep and Width wide.
// The executor's scale test runs it; the web view renders its execution.
package scalespec

import (
	"fmt"
	"strings"
)

// The pipeline's size and identity.
const (
	Project = "scale"
	Tasks   = 500
	Nodes   = 1000
	Width   = 10
	// Version is the version its entities are registered under.
	Version = "0123456789abcdef0123456789abcdef01234567"
)

// YAML returns the runway.yaml. Each task adds one to its int input x and
// writes the sum as its output y; the workflow's input is seed.
func YAML() []byte {
	var b strings.Builder
	b.WriteString("project: " + Project + "\ntasks:\n")
	for i := range Tasks {
		fmt.Fprintf(&b, "  - name: t%03d\n    command: [sh, -c, 'echo $((%s + 1)) > $RUNWAY_OUTPUTS/y']\n    inputs: {x: int}\n    outputs: {y: int}\n    resources: {limits: {cpu: 100m, memory: 64Mi}}\n",
			i, "{{inputs.x}}")
	}
	b.WriteString("workflows:\n  - name: big\n    inputs: {seed: int}\n    nodes:\n")
	for i := range Nodes {
		in := "{{workflow.inputs.seed}}"
		if i >= Width {
			in = fmt.Sprintf("{{n%04d.outputs.y}}", i-Width)
		}
		fmt.Fprintf(&b, "      - {id: n%04d, task: t%03d, inputs: {x: %q}}\n", i, i%Tasks, in)
	}
	fmt.Fprintf(&b, "    outputs: {last: \"{{n%04d.outputs.y}}\"}\n", Nodes-1)
	return []byte(b.String())
}
