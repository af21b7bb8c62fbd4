package local_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// faultsYAML is a project whose tasks misbehave on purpose.
const faultsYAML = `project: faults
tasks:
  - name: hog
    command: ["python3", "-c", "b = bytearray(768 * 1024 * 1024); print(len(b))"]
    resources: {limits: {memory: 160Mi}}
  - name: sleeper
    command: ["sh", "-c", "sleep 60 & echo $! > {{inputs.pidfile}}; sleep 60"]
    inputs: {pidfile: string}
    timeout: 1s
  - name: lazy
    command: ["sh", "-c", "echo done"]
    outputs: {result: string, report: file}
  - name: wrongtype
    command: ["sh", "-c", "echo not-a-number > $RUNWAY_OUTPUTS/score"]
    outputs: {score: float}
  - name: flaky
    command: ["sh", "-c", "if [ -f $RUNWAY_CHECKPOINT/seen ]; then echo 42 > $RUNWAY_OUTPUTS/answer; else touch $RUNWAY_CHECKPOINT/seen; exit 3; fi"]
    outputs: {answer: int}
    retries: 1
  - name: two-files
    command: ["sh", "-c", "echo a-{{inputs.n}} > $RUNWAY_OUTPUTS/a; echo b-$RUNWAY_INPUT_N > $RUNWAY_OUTPUTS/b"]
    inputs: {n: int}
    outputs: {a: file, b: file}
    cache: {version: "1"}
  - name: stamp
    command: ["sh", "-c", "date +%s%N > $RUNWAY_OUTPUTS/start; sleep 0.5; date +%s%N > $RUNWAY_OUTPUTS/end"]
    inputs: {tag: string}
    outputs: {start: int, end: int}
  - name: slow
    command: ["sh", "-c", "sleep {{inputs.seconds}}; echo {{inputs.seconds}} > $RUNWAY_OUTPUTS/slept"]
    inputs: {seconds: float}
    outputs: {slept: float}
    cache: {version: "1"}
  - name: after
    command: ["sh", "-c", "sleep 0.1; echo true > $RUNWAY_OUTPUTS/done"]
    inputs: {seconds: float}
    outputs: {done: bool}
    cache: {version: "1"}
  - name: tree
    command: ["sh", "-c", "mkdir -p $RUNWAY_OUTPUTS/out/sub && cp $RUNWAY_INPUTS/src/* $RUNWAY_OUTPUTS/out/sub/ && ls $RUNWAY_INPUTS/src > $RUNWAY_OUTPUTS/out/listing"]
    inputs: {src: dir}
    outputs: {out: dir}
    cache: {version: "1"}
workflows:
  - name: pair
    nodes:
      - {id: left, task: stamp, inputs: {tag: left}}
      - {id: right, task: stamp, inputs: {tag: right}}
  - name: chain
    inputs: {seconds: float}
    nodes:
      - {id: a, task: slow, inputs: {seconds: 0.1}}
      - {id: b, task: slow, inputs: {seconds: "{{workflow.inputs.seconds}}"}}
      - {id: c, task: after, inputs: {seconds: "{{b.outputs.slept}}"}}
`

func faultsFixture(t testing.TB, fo fixtureOpt) *fixture {
	return newFixture(t, "", map[string]string{"runway.yaml": faultsYAML}, fo)
}

func onlyNode(t testing.TB, ex *executor.Execution) *executor.NodeRecord {
	t.Helper()
	if len(ex.Nodes) != 1 {
		t.Fatalf("%d nodes", len(ex.Nodes))
	}
	return ex.Nodes[0]
}

func TestUserFailuresAreClassified(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	if !strings.HasPrefix(f.runner.Limiter(), "cgroup") {
		t.Fatalf("this machine has writable cgroups, but the runner uses %s", f.runner.Limiter())
	}
	ctx := context.Background()
	pidfile := filepath.Join(t.TempDir(), "bg.pid")
	for _, tc := range []struct {
		task     string
		inputs   map[string]any
		reason   executor.Reason
		attempts int
		says     string
	}{
		{"hog", nil, executor.ReasonOOMKilled, 1, "memory limit"},
		{"sleeper", map[string]any{"pidfile": pidfile}, executor.ReasonTimeout, 1, "timeout of 1s"},
		{"lazy", nil, executor.ReasonMissingOutput, 1, `output "report": the task exited 0 but did not write $RUNWAY_OUTPUTS/report`},
		{"wrongtype", nil, executor.ReasonBadOutput, 1, `output "score": want a finite float, got "not-a-number"`},
	} {
		t.Run(tc.task, func(t *testing.T) {
			start := time.Now()
			ex := f.run(ctx, registrar.KindTask, tc.task, tc.inputs)
			n := onlyNode(t, ex)
			if ex.Status != executor.StatusFailed || n.Status != executor.StatusFailed || n.Failure == nil {
				t.Fatalf("status %s / node %s (%+v)", ex.Status, n.Status, n.Failure)
			}
			if n.Failure.Reason != tc.reason || n.Failure.Kind != executor.UserFailure || n.Attempts != tc.attempts {
				t.Errorf("failure %+v after %d attempts, want %s (user) after %d", n.Failure, n.Attempts, tc.reason, tc.attempts)
			}
			if !strings.Contains(n.Failure.Message, tc.says) || !strings.Contains(ex.Error, string(tc.reason)) {
				t.Errorf("message %q / execution error %q, want them to say %q", n.Failure.Message, ex.Error, tc.says)
			}
			if tc.task == "sleeper" {
				if d := time.Since(start); d > 20*time.Second {
					t.Errorf("timeout took %s", d)
				}
				b, err := os.ReadFile(pidfile)
				if err != nil {
					t.Fatal(err)
				}
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				if pid <= 0 || !gone(pid, 5*time.Second) {
					t.Errorf("background process %d of the timed-out task is still alive", pid)
				}
			}
		})
	}
}

// $RUNWAY_CHECKPOINT survives the retry of a user failure.
func TestCheckpointSurvivesRetry(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ex := f.run(context.Background(), registrar.KindTask, "flaky", nil)
	n := onlyNode(t, ex)
	if ex.Status != executor.StatusSucceeded || n.Attempts != 2 || n.Outputs["answer"].Scalar != int64(42) {
		t.Fatalf("status %s attempts %d outputs %v failure %+v", ex.Status, n.Attempts, n.Outputs, n.Failure)
	}
	if f.starts() != 2 {
		t.Errorf("%d processes, want 2", f.starts())
	}
}

// Two independent nodes run at the same time: each records when its
// process started and ended.
func TestIndependentNodesOverlap(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	ex := f.run(context.Background(), registrar.KindWorkflow, "pair", nil)
	if ex.Status != executor.StatusSucceeded {
		t.Fatalf("%s: %s", ex.Status, ex.Error)
	}
	l, r := mustNode(t, ex, "left").Outputs, mustNode(t, ex, "right").Outputs
	ls, le := l["start"].Scalar.(int64), l["end"].Scalar.(int64)
	rs, re := r["start"].Scalar.(int64), r["end"].Scalar.(int64)
	if !(ls < re && rs < le) {
		t.Errorf("left ran %d..%d and right %d..%d: no overlap", ls, le, rs, re)
	}
}

// A bundle whose bytes do not match its digest is refused before anything
// is extracted, and not retried.
func TestTamperedBundleRefusedBeforeExtraction(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{runnerOpts: nil})
	ctx := context.Background()
	// Re-point the bundle tag at other bytes: a plain tar with a script.
	var tampered bytes.Buffer
	writeTestTar(t, &tampered, map[string]string{"runway.yaml": "evil: true\n"})
	h := store.Digest(tampered.Bytes())
	id, _ := v1NewHash(f.bundle)
	putBundleLayer(t, f.layout, f.project, id, h, int64(tampered.Len()), bytes.NewReader(tampered.Bytes()))

	ex := f.run(ctx, registrar.KindTask, "flaky", nil)
	n := onlyNode(t, ex)
	if n.Failure == nil || n.Failure.Reason != executor.ReasonBundle || !n.Failure.Permanent || n.Attempts != 1 {
		t.Fatalf("failure %+v after %d attempts, want a permanent %s after 1", n.Failure, n.Attempts, executor.ReasonBundle)
	}
	if !strings.Contains(n.Failure.Message, "refusing to extract") {
		t.Errorf("message %q", n.Failure.Message)
	}
	code := filepath.Join(f.work, ex.ID, "flaky", "attempt-1", "code")
	entries, err := os.ReadDir(code)
	if err != nil || len(entries) != 0 {
		t.Errorf("code directory after a refused bundle: %v entries (%v), want empty", len(entries), err)
	}
}

// A bundle whose bytes match its digest but hold a member that would
// escape the code directory is refused by fastreg's extractor, once: a
// permanent bundle failure, not a retried store error.
func TestHostileBundleRefusedOnce(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{runnerOpts: nil})
	ctx := context.Background()
	var plain bytes.Buffer
	writeTestTar(t, &plain, map[string]string{"../escape.py": "print('out')\n"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	identity := store.Digest(plain.Bytes())
	putBundleLayer(t, f.layout, f.project, identity, store.Digest(gz.Bytes()), int64(gz.Len()), bytes.NewReader(gz.Bytes()))
	// Point the task at the hostile bundle by registering it under a new
	// version whose task names that identity.
	ex := f.runWithBundle(ctx, "flaky", identity.String())
	n := onlyNode(t, ex)
	if n.Failure == nil || n.Failure.Reason != executor.ReasonBundle || !n.Failure.Permanent || n.Attempts != 1 {
		t.Fatalf("failure %+v after %d attempts, want a permanent %s after 1", n.Failure, n.Attempts, executor.ReasonBundle)
	}
	if !strings.Contains(n.Failure.Message, "escape.py") {
		t.Errorf("message %q does not name the member", n.Failure.Message)
	}
	if _, err := os.Stat(filepath.Join(f.work, ex.ID, "flaky", "attempt-1", "escape.py")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the hostile member was written outside the code directory: %v", err)
	}
}

// The store fails in the middle of exec-task's output upload: the attempt
// is a system failure, the node is retried, and the cache holds only the
// complete result.
func TestStoreFailsDuringOutputUpload(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "fail-next-put")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := faultsFixture(t, fixtureOpt{runnerOpts: []local.Option{local.WithEnv(envFailPut + "=" + marker)}})
	ctx := context.Background()
	ex := f.run(ctx, registrar.KindTask, "two-files", map[string]any{"n": 5})
	n := onlyNode(t, ex)
	if ex.Status != executor.StatusSucceeded || n.Attempts != 2 {
		t.Fatalf("status %s attempts %d failure %+v", ex.Status, n.Attempts, n.Failure)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the injected failure never fired")
	}
	again := f.run(ctx, registrar.KindTask, "two-files", map[string]any{"n": 5})
	if c := onlyNode(t, again).Cache; c != executor.CacheHit {
		t.Errorf("second run: cache %s", c)
	}
	if !sameJSON(t, n.Outputs, onlyNode(t, again).Outputs) || f.starts() != 2 {
		t.Errorf("outputs %v vs %v, %d processes", n.Outputs, onlyNode(t, again).Outputs, f.starts())
	}
}

// The store fails while the engine writes the cache entry: the node is
// retried, and at the moment of the failure no entry is visible.
func TestStoreFailsDuringCacheWrite(t *testing.T) {
	var fs *faultyStore
	var tagsAtFailure []string
	var fsStore store.Store
	f := faultsFixture(t, fixtureOpt{wrap: func(s store.Store) store.Store {
		fs = &faultyStore{Store: s}
		fsStore = s
		fs.failManifest = func(repo, tag string) bool {
			if !strings.HasSuffix(repo, "/cache") || fs.manifestFails > 0 {
				return false
			}
			tagsAtFailure, _ = fsStore.Tags(context.Background(), repo)
			return true
		}
		return fs
	}})
	ex := f.run(context.Background(), registrar.KindTask, "two-files", map[string]any{"n": 7})
	n := onlyNode(t, ex)
	if ex.Status != executor.StatusSucceeded || n.Attempts != 2 || fs.manifestFails != 1 {
		t.Fatalf("status %s attempts %d injected %d failure %+v", ex.Status, n.Attempts, fs.manifestFails, n.Failure)
	}
	for _, tag := range tagsAtFailure {
		if tag == n.CacheKey {
			t.Errorf("cache entry %s was visible while its write failed", tag)
		}
	}
	tags, _ := f.store.Tags(context.Background(), store.CacheRepo(f.project, domain))
	if len(tags) != 1 || tags[0] != n.CacheKey {
		t.Errorf("cache tags %v, want [%s]", tags, n.CacheKey)
	}
}

// Dir inputs and outputs round-trip through the store as reproducible tars.
func TestDirInputAndOutput(t *testing.T) {
	f := faultsFixture(t, fixtureOpt{})
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "x.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(src, "y.txt"), []byte("y"), 0o644)
	ctx := context.Background()
	ex := f.run(ctx, registrar.KindTask, "tree", map[string]any{"src": src})
	if ex.Status != executor.StatusSucceeded {
		t.Fatalf("%s: %s", ex.Status, ex.Error)
	}
	out := ex.Outputs["out"]
	dst := filepath.Join(t.TempDir(), "out")
	if err := executor.FetchDir(ctx, f.store, store.ExecutionRepo(f.project, domain), out, dst); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dst, "listing"))
	y, _ := os.ReadFile(filepath.Join(dst, "sub", "y.txt"))
	if string(b) != "x.txt\ny.txt\n" || string(y) != "y" {
		t.Errorf("listing %q, y %q", b, y)
	}
	// The same directory again is the same digest, so the cache hits.
	again := f.run(ctx, registrar.KindTask, "tree", map[string]any{"src": src})
	if onlyNode(t, again).Cache != executor.CacheHit || again.Inputs["src"].Digest != ex.Inputs["src"].Digest {
		t.Errorf("second run: cache %s, input %s vs %s", onlyNode(t, again).Cache, again.Inputs["src"].Digest, ex.Inputs["src"].Digest)
	}
}

func writeTestTar(t testing.TB, w io.Writer, files map[string]string) {
	t.Helper()
	tw := tar.NewWriter(w)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// gone waits until pid has exited: it no longer exists, or it is a zombie
// waiting for its new parent to reap it.
func gone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
