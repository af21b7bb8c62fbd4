//go:build integration

package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/runway-ci/runway/executor"
	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store/remote"
)

// envRunner makes the test binary a runway process holding one Kubernetes
// runner or an engine over one (runnerMain), which the restart and resume
// tests kill with SIGKILL.
const envRunner = "RUNWAY_NODETEST_RUNNER"

// runnerConfig is what the parent hands runnerMain.
type runnerConfig struct {
	Kubeconfig string           `json:"kubeconfig"`
	Platform   string           `json:"platform"`
	Store      string           `json:"store"`
	Attempt    executor.Attempt `json:"attempt"`
	// Launch, when set, makes the process an engine instead: it launches
	// this request, prints the execution's ID and executes it (the resume
	// test kills it before the end).
	Launch *executor.Request `json:"launch,omitempty"`
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
	if cfg.Launch != nil {
		return engineMain(client, cfg.Store, pc, *cfg.Launch)
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

// engineMain launches req on an engine over a Kubernetes runner, prints
// the execution's ID and executes it.
func engineMain(client kubernetes.Interface, storeRef string, pc *platform.Config, req executor.Request) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, eng, err := nodeEngine(client, storeRef, pc, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer func() { _ = r.Close() }()
	ctx := context.Background()
	ex, err := eng.Launch(ctx, req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println(ex.ID)
	final, err := eng.Execute(ctx, ex, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintln(os.Stderr, "execution ended:", final.Status)
	return 0
}

// nodeEngine is runway's engine over a Kubernetes runner on the store
// storeRef (a registry repository), as `runway run` builds it: records
// and cache in the store, attempts as Jobs.
func nodeEngine(client kubernetes.Interface, storeRef string, pc *platform.Config, log *slog.Logger) (*kexec.Runner, *executor.Engine, error) {
	s, err := remote.New(storeRef)
	if err != nil {
		return nil, nil, err
	}
	r, err := kexec.New(client, storeRef, kexec.WithPlatform(pc), kexec.WithLogger(log))
	if err != nil {
		return nil, nil, err
	}
	eng, err := executor.New(s, r, executor.WithPlatform(pc), executor.WithBackoff(100*time.Millisecond, time.Second),
		executor.WithParallelism(4), executor.WithLogger(log))
	if err != nil {
		_ = r.Close()
		return nil, nil, err
	}
	return r, eng, nil
}
