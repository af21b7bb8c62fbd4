package action

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Merge promotion runs one at a time per repository (issue 16): the example
// workflow's concurrency group for push events is
// runway-promote-${{ github.repository }}, and PR events stay per PR.
func TestExampleWorkflowSerialisesMergePromotion(t *testing.T) {
	b, err := os.ReadFile("../.github/workflows/example-runway.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Concurrency struct {
			Group            string `yaml:"group"`
			CancelInProgress bool   `yaml:"cancel-in-progress"`
		} `yaml:"concurrency"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	g := wf.Concurrency.Group
	for _, want := range []string{"github.event_name == 'push'", "format('runway-promote-{0}', github.repository)", "github.event.pull_request.number"} {
		if !strings.Contains(g, want) {
			t.Errorf("concurrency group %q lacks %q", g, want)
		}
	}
	if strings.Contains(g, "github.sha") {
		t.Errorf("concurrency group %q is per commit: two merges would promote at once", g)
	}
	if wf.Concurrency.CancelInProgress {
		t.Error("cancel-in-progress would kill a promotion half-way")
	}
}
