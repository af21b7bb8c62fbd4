package action

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type actionYML struct {
	Inputs  map[string]struct{ Description string } `yaml:"inputs"`
	Outputs map[string]struct{ Description string } `yaml:"outputs"`
	Runs    struct {
		Steps []struct {
			Name string            `yaml:"name"`
			Env  map[string]string `yaml:"env"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func readActionYML(t *testing.T) *actionYML {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionYML
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

// Every input of action.yml reaches runway (INPUT_* on the runway step) or
// the step that uses it, and no description says a feature is not wired
// (issue 17, item 10: run-inputs was read by runway but never passed).
func TestActionYMLInputsAreWiredAndDocumented(t *testing.T) {
	a := readActionYML(t)
	used := map[string]bool{}
	for _, st := range a.Runs.Steps {
		for _, v := range st.Env {
			if strings.HasPrefix(v, "${{ inputs.") {
				used[strings.TrimSuffix(strings.TrimPrefix(v, "${{ inputs."), " }}")] = true
			}
		}
	}
	for _, want := range []string{"run-inputs", "registry-username", "registry-password"} {
		if _, ok := a.Inputs[want]; !ok {
			t.Errorf("action.yml has no %s input", want)
		}
	}
	for name, in := range a.Inputs {
		if !used[name] {
			t.Errorf("input %s is declared but no step receives it", name)
		}
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	for name, d := range a.Inputs {
		if strings.Contains(d.Description, "not wired") || strings.Contains(d.Description, "until run is wired") {
			t.Errorf("input %s: stale description %q", name, d.Description)
		}
	}
	for name, d := range a.Outputs {
		if strings.Contains(d.Description, "not wired") || strings.Contains(d.Description, "until run is wired") {
			t.Errorf("output %s: stale description %q", name, d.Description)
		}
	}
}

// The registry-credentials step, run as Actions runs it (bash, inputs in
// the environment), writes a docker config for the store's host that
// go-containerregistry's keychain reads, and points DOCKER_CONFIG at it.
func TestActionYMLRegistryCredentialsStep(t *testing.T) {
	a := readActionYML(t)
	script := ""
	for _, st := range a.Runs.Steps {
		if st.Name == "Registry credentials" {
			script = st.Run
		}
	}
	if script == "" {
		t.Fatal("action.yml has no Registry credentials step")
	}
	run := func(store, user, pass string) (string, string, error) {
		tmp := t.TempDir()
		genv := filepath.Join(tmp, "github_env")
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RUNNER_TEMP=" + tmp, "GITHUB_ENV=" + genv,
			"RUNWAY_STORE_INPUT=" + store, "RUNWAY_REGISTRY_USERNAME=" + user, "RUNWAY_REGISTRY_PASSWORD=" + pass}
		out, err := cmd.CombinedOutput()
		env, _ := os.ReadFile(genv)
		return string(out), string(env), err
	}
	out, env, err := run("ghcr.io/acme/runway", "octocat", "s3cret'\"$x")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	dir := strings.TrimSpace(strings.TrimPrefix(env, "DOCKER_CONFIG="))
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("octocat:s3cret'\"$x"))
	if string(b) != `{"auths":{"ghcr.io":{"auth":"`+auth+`"}}}`+"\n" {
		t.Errorf("config.json = %s", b)
	}
	if !strings.Contains(out, "::add-mask::s3cret") {
		t.Errorf("the password is not masked: %s", out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "config.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode: %v %v", fi.Mode(), err)
	}
	if out, _, err := run("", "octocat", "pw"); err == nil || !strings.Contains(out, "store input names no registry") {
		t.Errorf("no store: %v %s", err, out)
	}
	if out, _, err := run("file:///tmp/s", "octocat", "pw"); err == nil {
		t.Errorf("file store: %v %s", err, out)
	}
	if out, _, err := run("ghcr.io/acme", "octocat", ""); err == nil || !strings.Contains(out, "without registry-password") {
		t.Errorf("no password: %v %s", err, out)
	}
}
