//go:build adversarial

package local_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/registrar"
)

// outputsYAML's tasks write outputs meant to hurt the runner.
const outputsYAML = `project: outputs
tasks:
  - name: bigvalue
    command: ["sh", "-c", "head -c 2097152 /dev/zero | tr '\\0' x > $RUNWAY_OUTPUTS/text"]
    outputs: {text: string}
  - name: dirlink
    command: ["sh", "-c", "mkdir $RUNWAY_OUTPUTS/out && ln -s /etc $RUNWAY_OUTPUTS/out/etc"]
    outputs: {out: dir}
  - name: dirfifo
    command: ["sh", "-c", "mkdir $RUNWAY_OUTPUTS/out && mkfifo $RUNWAY_OUTPUTS/out/pipe"]
    outputs: {out: dir}
  - name: fifo
    command: ["sh", "-c", "mkfifo $RUNWAY_OUTPUTS/report"]
    outputs: {report: file}
`

// TestAdversarialTaskOutputs (issue 16, item 10, outputs): a value output
// over its 1 MiB limit, a file output that is a FIFO (reading it would
// hang the upload) and a dir output holding a link out of itself are user
// failures. (A file output that is a symlink is followed: the task runs as
// the same user as exec-task, so it could copy the file itself.)
func TestAdversarialTaskOutputs(t *testing.T) {
	f := newFixture(t, "", map[string]string{"runway.yaml": outputsYAML}, fixtureOpt{})
	ctx := context.Background()
	for _, tc := range []struct {
		task   string
		inputs map[string]any
		says   string
	}{
		{"bigvalue", nil, "larger than 1 MiB"},
		{"dirlink", nil, "etc -> /etc may leave the directory"},
		{"dirfifo", nil, "pipe is not a regular file"},
		{"fifo", nil, "special file"},
	} {
		t.Run(tc.task, func(t *testing.T) {
			ex := f.run(ctx, registrar.KindTask, tc.task, tc.inputs)
			n := onlyNode(t, ex)
			if n.Failure == nil || n.Failure.Kind != executor.UserFailure || n.Failure.Reason != executor.ReasonBadOutput || !strings.Contains(n.Failure.Message, tc.says) {
				t.Fatalf("status %s, failure %+v; want a bad-output user failure saying %q", n.Status, n.Failure, tc.says)
			}
			if n.Attempts != 1 {
				t.Errorf("%d attempts: a bad output is the task's own, retrying cannot help", n.Attempts)
			}
		})
	}
}
