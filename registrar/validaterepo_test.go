package registrar_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/registrar"
)

// An unknown key and a value of the wrong shape no longer hide the semantic
// errors of the same file: all are reported in one pass (issue 17, item 3).
func TestValidateRepoReportsEverythingAtOnce(t *testing.T) {
	_, err := registrar.ValidateRepo(context.Background(), "testdata/allatonce", registrar.CompileOptions{})
	var es spec.Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %T %v, want spec.Errors", err, err)
	}
	want := []string{
		`:5: task "a": unknown field "colour"`,
		`:8: task "a": resources.limits.memory: "1Gx" is not a Kubernetes quantity`,
		`:8: task "a": resources.requests.cpu: "lots" is not a Kubernetes quantity`,
		`:13: task "b": retries: got a string "many"`,
		`workflow "w": nodes: the nodes form a cycle`,
		`workflow "w": nodes[1].inputs.x: {{n1.outputs.y}} is string, but the task input is int`,
		`:20: launch plan "lp": schedule: "61 * * * *" is not a cron expression`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if len(es) != len(want) {
		t.Errorf("%d errors, want %d (a decode error must not be repeated by a semantic one):\n%v", len(es), len(want), err)
	}
}

// A field that failed to decode is reported once, by the decoder, not again
// as "required" by the semantic check of its zero value.
func TestValidateRepoDoesNotRepeatDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/runway.yaml", "project: p\ntasks:\n  - name: a\n    command: echo\n")
	_, err := registrar.ValidateRepo(context.Background(), dir, registrar.CompileOptions{})
	var es spec.Errors
	if !errors.As(err, &es) || len(es) != 1 || !strings.Contains(es[0].Error(), "command: got a string") {
		t.Fatalf("got %v, want the one decode error about command", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
