//go:build adversarial

package main

// kill -9 at each step (issue 16, item 7): a runway-core process is killed
// at evenly spread moments of register, promote and activate against the
// on-disk store; the same command run again recovers (exit 0), and
// `runway history --verify` finds every entity complete and matching, with
// one promotion per entity and one active launch plan. (run: executor/local
// TestKill9ThenRecover and TestKill9ThenResume; a holder killed mid-write
// against docker-registry: crossprocess_integration_test.go.)

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	runway "github.com/runway-ci/runway"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// crashKillPoints is how many moments of each command are tried.
const crashKillPoints = 6

type crashWorld struct {
	t    *testing.T
	bin  string
	repo string
	sha  string
	env  []string
}

func newCrashWorld(t *testing.T) *crashWorld {
	w := &crashWorld{t: t}
	if b := os.Getenv("RUNWAY_BINARY"); b != "" {
		w.bin = b // .ci/run's static runway-core
	} else {
		w.bin = testenv.BuildStatic(t, "../..", "./cmd/runway-core")
	}
	w.repo = filepath.Join(t.TempDir(), "repo")
	if err := runway.WriteSample(w.repo); err != nil {
		t.Fatal(err)
	}
	w.sha = testenv.GitCommitAll(t, w.repo)
	w.env = append(os.Environ(), "RUNWAY_HOME="+t.TempDir(), "RUNWAY_BINARY="+w.bin)
	return w
}

func (w *crashWorld) cmd(ctx context.Context, store string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, w.bin, append(args, "--store", "file://"+store)...)
	c.Dir, c.Env = w.repo, w.env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

// must runs a command to completion and fails the test unless it exits 0.
func (w *crashWorld) must(store string, args ...string) (string, time.Duration) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := w.cmd(ctx, store, args...).CombinedOutput()
	if err != nil {
		w.t.Fatalf("runway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), time.Since(start)
}

// killAt starts the command and kills its process group with SIGKILL after d.
func (w *crashWorld) killAt(store string, d time.Duration, args ...string) {
	w.t.Helper()
	var out bytes.Buffer
	c := w.cmd(context.Background(), store, args...)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		w.t.Fatal(err)
	}
	time.Sleep(d)
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	_ = c.Wait()
}

// copyStore copies a store directory as it is.
func (w *crashWorld) copyStore(src string) string {
	w.t.Helper()
	dst := filepath.Join(w.t.TempDir(), "store")
	if b, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		w.t.Fatalf("cp: %v\n%s", err, b)
	}
	return dst
}

// verify checks every entity of the sample with history --verify.
func (w *crashWorld) verify(store string) map[string]string {
	w.t.Helper()
	out := map[string]string{}
	for _, e := range []string{"task/prepare", "task/profile", "task/fit", "task/evaluate", "workflow/train", "launchplan/nightly"} {
		o, _ := w.must(store, "history", e, "--verify")
		if !strings.Contains(o, "all match") {
			w.t.Errorf("history %s --verify:\n%s", e, o)
		}
		out[e] = o
	}
	return out
}

func TestAdversarialKill9AtEachStep(t *testing.T) {
	w := newCrashWorld(t)
	registered := filepath.Join(t.TempDir(), "registered")
	_, regTook := w.must(registered, "register", "--domain", "development")
	promoted := w.copyStore(registered)
	_, promTook := w.must(promoted, "promote", "--from", "development", "--version", w.sha, "--actor", "alice")
	_, actTook := w.must(w.copyStore(promoted), "activate", "launchplan/nightly", "--version", w.sha, "--domain", "staging", "--actor", "alice")
	t.Logf("clean runs: register %s, promote %s, activate %s", regTook, promTook, actTook)

	for _, step := range []struct {
		name  string
		from  string // store to start from ("" = empty)
		took  time.Duration
		args  []string
		check func(store string)
	}{
		{"register", "", regTook, []string{"register", "--domain", "development"}, func(store string) {
			w.verify(store)
		}},
		{"promote", registered, promTook, []string{"promote", "--from", "development", "--version", w.sha, "--actor", "alice"}, func(store string) {
			for e, h := range w.verify(store) {
				if n := strings.Count(h, "promoted from development to staging"); n != 1 {
					t.Errorf("%s: %d promotions to staging recorded, want 1:\n%s", e, n, h)
				}
			}
		}},
		{"activate", promoted, actTook, []string{"activate", "launchplan/nightly", "--version", w.sha, "--domain", "staging", "--actor", "alice"}, func(store string) {
			h := w.verify(store)["launchplan/nightly"]
			if n := strings.Count(h, "activated in staging"); n != 1 || !strings.Contains(h, "(promoted from development, active)") {
				t.Errorf("after recovery, %d activations and the launch plan is not the active one:\n%s", n, h)
			}
		}},
	} {
		for i := 1; i <= crashKillPoints; i++ {
			at := step.took * time.Duration(i) / (crashKillPoints + 1)
			store := filepath.Join(t.TempDir(), "store")
			if step.from != "" {
				store = w.copyStore(step.from)
			}
			w.killAt(store, at, step.args...)
			w.must(store, step.args...) // recovery: the same command again
			step.check(store)
			if t.Failed() {
				t.Fatalf("%s killed after %s of %s", step.name, at, step.took)
			}
		}
	}
}
