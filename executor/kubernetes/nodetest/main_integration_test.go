//go:build integration

package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runway-ci/runway/executor"
	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/internal/platform"
)

// envRunner makes the test binary a runway process holding one Kubernetes
// runner (runnerMain), which the restart test kills with SIGKILL.
const envRunner = "RUNWAY_NODETEST_RUNNER"

// runnerConfig is what the parent hands runnerMain.
type runnerConfig struct {
	Kubeconfig string           `json:"kubeconfig"`
	Platform   string           `json:"platform"`
	Store      string           `json:"store"`
	Attempt    executor.Attempt `json:"attempt"`
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(envRunner); cfg != "" {
		os.Exit(runnerMain(cfg))
	}
	os.Exit(m.Run())
}

// runnerMain runs one attempt through a Kubernetes runner, as runway
// does, and prints the result when the attempt ends (the restart test
// kills it before then).
func runnerMain(cfgJSON string) int {
	var cfg runnerConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pc, err := platform.Load(cfg.Platform)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := kexec.New(client, cfg.Store, kexec.WithPlatform(pc))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res, err := r.Run(context.Background(), cfg.Attempt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attempt failed:", err)
		return 1
	}
	fmt.Printf("attempt succeeded: %v\n", res.Outputs)
	return 0
}
