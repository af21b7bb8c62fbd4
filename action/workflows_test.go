package action

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var pinnedRE = regexp.MustCompile(`^[^@\s]+@[0-9a-f]{40}$`)

// usesOf returns every `uses:` value in a YAML document.
func usesOf(n *yaml.Node, out *[]string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "uses" && n.Content[i+1].Kind == yaml.ScalarNode {
				*out = append(*out, n.Content[i+1].Value)
			}
		}
	}
	for _, c := range n.Content {
		usesOf(c, out)
	}
}

// TestWorkflowsPinEverything: action.yml and the workflows use other
// actions only by full commit SHA (or a local path), never by a tag or
// branch that can move.
func TestWorkflowsPinEverything(t *testing.T) {
	// action.yml and every workflow of this repository.
	files, err := filepath.Glob("../.github/workflows/*.yml")
	if err != nil || len(files) < 3 {
		t.Fatalf("workflows: %v %v", files, err)
	}
	files = append(files, "../action.yml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var uses []string
		usesOf(&doc, &uses)
		for _, u := range uses {
			if !strings.HasPrefix(u, "./") && !pinnedRE.MatchString(u) {
				t.Errorf("%s: uses %q, which is not pinned by commit SHA", f, u)
			}
		}
		if strings.Contains(string(b), "pull_request_target:") {
			t.Errorf("%s: uses pull_request_target", f)
		}
	}
}

// TestActionYAML: the inputs action.yml declares are the ones Run reads,
// each reaches runway as INPUT_<NAME>, and the outputs are the documented set.
func TestActionYAML(t *testing.T) {
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs  map[string]any `yaml:"inputs"`
		Outputs map[string]struct {
			Value string `yaml:"value"`
		} `yaml:"outputs"`
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				ID  string            `yaml:"id"`
				Env map[string]string `yaml:"env"`
				Run string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q", a.Runs.Using)
	}
	want := []string{"platform-config", "store", "domain", "run", "run-inputs", "github-token", "working-directory"}
	// registry-username and registry-password go to the Registry
	// credentials step instead (actionyml_test.go).
	if len(a.Inputs) != len(want)+2 {
		t.Errorf("inputs %v, want %v", a.Inputs, want)
	}
	var step *struct {
		ID  string            `yaml:"id"`
		Env map[string]string `yaml:"env"`
		Run string            `yaml:"run"`
	}
	for i := range a.Runs.Steps {
		if a.Runs.Steps[i].ID == "runway" {
			step = &a.Runs.Steps[i]
		}
		if strings.Contains(a.Runs.Steps[i].Run, "${{") {
			t.Errorf("step %d interpolates an expression into its script: %q", i, a.Runs.Steps[i].Run)
		}
	}
	if step == nil {
		t.Fatal("no step with id runway")
	}
	for _, in := range want {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q is not declared", in)
		}
		if got := step.Env["INPUT_"+strings.ToUpper(in)]; got != "${{ inputs."+in+" }}" {
			t.Errorf("INPUT_%s = %q", strings.ToUpper(in), got)
		}
	}
	for _, out := range []string{"decision", "version", "image", "bundle", "entities", "execution", "promoted"} {
		if a.Outputs[out].Value != "${{ steps.runway.outputs."+out+" }}" {
			t.Errorf("output %q = %q", out, a.Outputs[out].Value)
		}
	}
	ex, err := os.ReadFile("../.github/workflows/example-runway.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Permissions map[string]string `yaml:"permissions"`
	}
	if err := yaml.Unmarshal(ex, &wf); err != nil {
		t.Fatal(err)
	}
	for k, v := range wf.Permissions {
		if v == "write" && k != "pull-requests" && k != "issues" && k != "statuses" {
			t.Errorf("the example workflow asks for %s: write", k)
		}
	}
	if wf.Permissions["contents"] != "read" {
		t.Errorf("the example workflow should read contents only, has %q", wf.Permissions["contents"])
	}
}
