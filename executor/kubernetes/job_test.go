package kubernetes

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testImage = "registry.example/fraud-detection/image@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testAttempt() executor.Attempt {
	return executor.Attempt{
		ExecutionID: "01jdk3m9x2q7fz", NodeID: "prep", Number: 1,
		Project: "fraud-detection", Domain: "development",
		TaskRef: registrar.Ref{Project: "fraud-detection", Name: "prepare", Version: "3f786850e387550fdab836ed7e6dc881de23001b"},
		Task: registrar.Task{
			Image:   testImage,
			Bundle:  "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			Command: []string{"python", "-m", "pipeline.prepare", "--rows", "{{inputs.rows}}"},
			Inputs:  map[string]string{"rows": "int"}, Outputs: map[string]string{"dataset": "file"},
			Resources: registrar.Resources{
				Requests: map[string]string{"cpu": "500m", "memory": "256Mi"},
				Limits:   map[string]string{"cpu": "1", "memory": "512Mi"},
			},
			Retries: 2, Timeout: "10m0s",
		},
		Inputs:       executor.Values{"rows": {Type: executor.TypeInt, Scalar: int64(1000)}},
		Outputs:      executor.Interface{"dataset": executor.TypeFile},
		Limits:       executor.Limits{MilliCPU: 1000, MemoryBytes: 512 << 20},
		Timeout:      10 * time.Minute,
		DataRepo:     store.ExecutionRepo("fraud-detection", "development"),
		CheckpointID: "01jdk3m9x2q7fz/prep",
	}
}

func testDomain() *platform.Domain {
	return &platform.Domain{
		Name:     "development",
		Ceilings: map[string]string{"cpu": "2", "memory": "1Gi"},
		Defaults: platform.Resources{Requests: map[string]string{"cpu": "100m", "memory": "128Mi"}, Limits: map[string]string{"cpu": "1", "memory": "256Mi"}},
	}
}

func testConfig() jobConfig {
	return jobConfig{
		storeRef: "registry.example/runway", execTask: []string{"runway", "exec-task"},
		runAsUser: defaultRunAsUser, ttl: time.Hour, deadlineSlack: 2 * time.Minute,
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered Job (run with -update if the change is intended):\n--- got\n%s", path, got)
	}
}

func TestRenderJobGolden(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*executor.Attempt, *jobConfig)
		golden string
	}{
		{name: "task resources, timeout", golden: "job-basic.yaml"},
		{
			name: "domain default requests, no timeout, registry secret, long node id",
			edit: func(a *executor.Attempt, c *jobConfig) {
				a.NodeID = "a-very-long-node-identifier-that-does-not-fit-in-a-job-name"
				a.Number = 3
				a.Task.Resources = registrar.Resources{}
				a.Limits = executor.Limits{MilliCPU: 1000, MemoryBytes: 256 << 20}
				a.Timeout = 0
				c.registrySecret = RegistrySecretName
				c.serviceAccount = "runway-task"
			},
			golden: "job-defaults-secret.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := testAttempt(), testConfig()
			if tt.edit != nil {
				tt.edit(&a, &c)
			}
			job, err := renderJob(a, "fraud-detection-development", testDomain(), c)
			if err != nil {
				t.Fatal(err)
			}
			if len(job.Name) > maxJobName {
				t.Errorf("job name %q is %d characters, want <= %d", job.Name, len(job.Name), maxJobName)
			}
			b, err := yaml.Marshal(job)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b)
		})
	}
}

// The Job never carries registry credentials: only the secret's name.
func TestRenderJobNoCredentials(t *testing.T) {
	a, c := testAttempt(), testConfig()
	c.registrySecret = RegistrySecretName
	a.Task.Env = map[string]string{"MODE": "fast"}
	job, err := renderJob(a, "ns", testDomain(), c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := yaml.Marshal(job)
	for _, bad := range []string{"auths", "password", ".dockerconfigjson:"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("rendered Job contains %q", bad)
		}
	}
}

func TestRenderJobRefused(t *testing.T) {
	tests := []struct {
		name string
		edit func(*executor.Attempt, *jobConfig)
		want string
		kind executor.FailureKind
	}{
		{"no image", func(a *executor.Attempt, _ *jobConfig) { a.Task.Image = "" }, "has no image", executor.UserFailure},
		{"tag instead of digest", func(a *executor.Attempt, _ *jobConfig) { a.Task.Image = "python:3.12" }, "not pinned by digest", executor.SystemFailure},
		{"request above ceiling", func(a *executor.Attempt, _ *jobConfig) { a.Task.Resources.Requests["memory"] = "2Gi" }, "task request memory 2Gi is above the development domain's ceiling 1Gi", executor.UserFailure},
		{"request above limit", func(a *executor.Attempt, _ *jobConfig) { a.Task.Resources.Requests["cpu"] = "1500m" }, "task request cpu 1500m is above its limit 1", executor.UserFailure},
		{"bad quantity", func(a *executor.Attempt, _ *jobConfig) { a.Task.Resources.Requests["cpu"] = "lots" }, `task request cpu "lots"`, executor.UserFailure},
		{"huge spec", func(a *executor.Attempt, _ *jobConfig) {
			a.Inputs["rows"] = executor.Value{Type: executor.TypeString, Scalar: strings.Repeat("x", 200<<10)}
		}, "pass large values as file inputs", executor.UserFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := testAttempt(), testConfig()
			tt.edit(&a, &c)
			_, err := renderJob(a, "ns", testDomain(), c)
			var te *executor.TaskError
			if !errors.As(err, &te) {
				t.Fatalf("renderJob = %v, want a *TaskError", err)
			}
			if !strings.Contains(te.Message, tt.want) || te.Kind != tt.kind || !te.Permanent {
				t.Errorf("got %s failure %q (permanent %v), want %s failure containing %q, permanent", te.Kind, te.Message, te.Permanent, tt.kind, tt.want)
			}
		})
	}
}

func TestJobName(t *testing.T) {
	tests := []struct {
		exec, node string
		attempt    int
		want       string
	}{
		{"01jdk3m9x2q7fz", "prep", 1, "01jdk3m9x2q7fz-prep-1"},
		{"01jdk3m9x2q7fz", "prep", 12, "01jdk3m9x2q7fz-prep-12"},
		{"01jdk3m9x2q7fz", "Prep_Step", 1, "01jdk3m9x2q7fz-prep-step-"},
		{"01jdk3m9x2q7fz", strings.Repeat("n", 63), 1, "01jdk3m9x2q7fz-nnnnnnnnnnnnnnnnnnnn"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got := JobName(tt.exec, tt.node, tt.attempt)
		if !strings.HasPrefix(got, tt.want) || len(got) > maxJobName {
			t.Errorf("JobName(%q, %q, %d) = %q, want prefix %q and <= %d chars", tt.exec, tt.node, tt.attempt, got, tt.want, maxJobName)
		}
		if seen[got] {
			t.Errorf("JobName %q repeats", got)
		}
		seen[got] = true
		if again := JobName(tt.exec, tt.node, tt.attempt); again != got {
			t.Errorf("JobName is not deterministic: %q then %q", got, again)
		}
	}
	// Two long node IDs that share their first 40 characters differ.
	a := JobName("01jdk3m9x2q7fz", strings.Repeat("n", 50)+"a", 1)
	b := JobName("01jdk3m9x2q7fz", strings.Repeat("n", 50)+"b", 1)
	if a == b {
		t.Errorf("distinct long node IDs share the Job name %q", a)
	}
}

func TestNamespaceObjects(t *testing.T) {
	dom := testDomain()
	dom.ManageNamespace = true
	dom.Quota = map[string]string{"limits.memory": "4Gi", "pods": "20"}
	ns, q, lr, err := namespaceObjects("fraud-detection-development", dom, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := yaml.Marshal(map[string]any{"namespace": ns, "quota": q, "limitRange": lr})
	golden(t, "namespace.yaml", b)

	// A single-node development cluster's host-network pods need the
	// privileged level; restricted still warns.
	hn, _, _, err := namespaceObjects("dev", dom, true)
	if err != nil || hn.Labels["pod-security.kubernetes.io/enforce"] != "privileged" || hn.Labels["pod-security.kubernetes.io/warn"] != "restricted" {
		t.Errorf("host-network namespace labels %v, %v", hn.Labels, err)
	}

	dom.Quota["pods"] = "many"
	if _, _, _, err := namespaceObjects("x", dom, false); err == nil || !strings.Contains(err.Error(), `quota pods "many"`) {
		t.Errorf("bad quota quantity: err = %v", err)
	}
}

// Only platform executor.hostNetwork puts task pods on the node's network.
func TestRenderJobHostNetwork(t *testing.T) {
	c := testConfig()
	job, err := renderJob(testAttempt(), "ns", testDomain(), c)
	if err != nil || job.Spec.Template.Spec.HostNetwork {
		t.Fatalf("default Job: hostNetwork %v, %v", job != nil && job.Spec.Template.Spec.HostNetwork, err)
	}
	c.hostNetwork = true
	if job, err = renderJob(testAttempt(), "ns", testDomain(), c); err != nil || !job.Spec.Template.Spec.HostNetwork {
		t.Fatalf("hostNetwork Job: %v, %v", job, err)
	}
}
