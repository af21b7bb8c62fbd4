//go:build integration

package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/exectask"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// signedProject is the sample registered under a name of its own, so the
// bundle this test replaces is no other subtest's.
const signedProject = "signed-prices"

// provenanceOnNode is issue 14's last line of defence on a real node: the
// development domain requires a signature by a trusted key; the sample,
// registered signed (platform provenance.signingKey), runs its prepare
// task as a pod whose exec-task verifies the bundle's attestation before
// fetching it. Then the bundle's manifest is replaced under its tag (what
// someone with write access to the registry could do) and the task, run
// again with the cache overwritten, is refused inside the pod: the
// kubelet's termination message carries exec-task's ProvenanceUnverified
// result, the runner reports it, and the engine does not retry it (the
// task allows one retry; a refusal is permanent).
func provenanceOnNode(t *testing.T, e *env) {
	keys := t.TempDir()
	priv, pub, id, err := provenance.GenerateKey(provenance.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	privFile, pubFile := filepath.Join(keys, "signing.pem"), filepath.Join(keys, "signing.pub")
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	y := e.platformYAML("")
	const dev = "  - name: development\n"
	if !strings.Contains(y, dev) {
		t.Fatalf("the tier's platform has no development domain:\n%s", y)
	}
	y = strings.Replace(y, dev, dev+fmt.Sprintf("    requireSignedBy: [%q]\n", id), 1)
	y = fmt.Sprintf("provenance:\n  signingKey: {file: %s}\n  trustedKeys: [{file: %s}]\n", privFile, pubFile) + y
	plat := writePlatform(t, y)

	repo := sampleRepoAs(t, e.base, signedProject)
	r := e.cli(t, repo, "register", "--platform", plat, "-o", "json")
	if r.code != 0 {
		t.Fatalf("signed register: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.out, id) {
		t.Fatalf("the registration names no attestation signed by %s:\n%s", id, r.out)
	}
	version := strings.TrimSpace(gitHead(t, repo))
	ns := signedProject + "-development"
	run := func() (cliResult, executionView) {
		r := e.cli(t, repo, "run", "task", "prepare", "--platform", plat, "--version", version,
			"-i", "rows=50", "-i", "seed=3", "--overwrite-cache", "-o", "json")
		return r, decodeExecution(t, r)
	}

	// Signed and intact: the pod's exec-task verifies the bundle and runs.
	start := time.Now()
	r, ex := run()
	if r.code != 0 || ex.Status != "succeeded" || len(ex.Nodes) != 1 {
		t.Fatalf("the signed task on the node: exit %d %s %s\n%s\n%s\npods:\n%s", r.code, ex.Status, ex.Error, r.out, r.err, e.podLogs(ns, ex.ID))
	}
	pod := onePod(t, e, ns, ex.ID)
	var sp exectask.Spec
	if err := json.Unmarshal([]byte(pod.Annotations[kubenames.AnnotationSpec]), &sp); err != nil {
		t.Fatalf("the pod's exec-task spec: %v", err)
	}
	if sp.Provenance == nil {
		t.Fatalf("the pod's exec-task spec carries no provenance requirement: %s", pod.Annotations[kubenames.AnnotationSpec])
	}
	t.Logf("signed prepare ran on the node after exec-task verified its bundle (%s)", time.Since(start).Round(time.Millisecond))

	// The bundle is replaced under its tag.
	bundle := findString(taskView(t, e, repo, plat), "bundle")
	if !strings.HasPrefix(bundle, "sha256:") {
		t.Fatalf("no bundle identity in `runway get task prepare`")
	}
	replaceBundleIn(t, e, repo, bundle)

	start = time.Now()
	r, ex = run()
	if r.code == 0 || ex.Status == "succeeded" {
		t.Fatalf("a replaced bundle ran in a domain that requires a signature:\n%s\npods:\n%s", r.out, e.podLogs(ns, ex.ID))
	}
	if len(ex.Nodes) != 1 || ex.Nodes[0].Error == nil {
		t.Fatalf("refused run: %+v\n%s", ex, r.err)
	}
	n := ex.Nodes[0]
	if n.Error.Reason != string(executor.ReasonProvenance) || !strings.Contains(n.Error.Message, "; nothing was extracted") || n.Attempts != 1 {
		t.Fatalf("node %s: attempts %d, error %+v; want one attempt refused as %s, nothing extracted\npods:\n%s",
			n.ID, n.Attempts, n.Error, executor.ReasonProvenance, e.podLogs(ns, ex.ID))
	}
	// The refusal came from exec-task in the pod: the kubelet's record of
	// the container's end holds it.
	pod = onePod(t, e, ns, ex.ID)
	st := pod.Status.ContainerStatuses
	if len(st) != 1 || st[0].State.Terminated == nil || !strings.Contains(st[0].State.Terminated.Message, string(executor.ReasonProvenance)) {
		t.Fatalf("pod %s: container statuses %+v, want a termination message from exec-task saying %s", pod.Name, st, executor.ReasonProvenance)
	}
	if logs := e.podLogs(ns, ex.ID); strings.Contains(logs, "TAMPERED") {
		t.Fatalf("the replaced code ran:\n%s", logs)
	}
	t.Logf("refused in the pod after %s: %s", time.Since(start).Round(time.Millisecond), n.Error.Message)
}

// onePod is the one pod of an execution, which ran on the real node.
func onePod(t *testing.T, e *env, ns, execution string) *corev1.Pod {
	t.Helper()
	if n := e.podsOf(t, ns, execution); n != 1 {
		t.Fatalf("%d pods for execution %s, want 1", n, execution)
	}
	l, err := e.admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(execution)})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("the pod of %s: %v", execution, err)
	}
	return &l.Items[0]
}

// taskView is `runway get task prepare -o json`.
func taskView(tb testing.TB, e *env, repo, plat string) map[string]any {
	tb.Helper()
	r := e.cli(tb, repo, "get", "task", "prepare", "--platform", plat, "-o", "json")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		tb.Fatalf("runway get task prepare: %v\n%s\n%s", err, r.out, r.err)
	}
	return v
}

// replaceBundleIn pushes a bundle of repo with prepare.py changed and puts
// its manifest under the tag of the bundle identity, in the tier's
// registry (flow's replaceBundle, against the registry the pods read).
func replaceBundleIn(t *testing.T, e *env, repo, identity string) {
	t.Helper()
	ctx := context.Background()
	s, err := remote.New(e.reg.Host + "/runway")
	if err != nil {
		t.Fatal(err)
	}
	evil := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", repo, evil).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(evil, "pipeline", "prepare.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\nprint('TAMPERED code ran')\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	testenv.GitCommitAll(t, evil)
	b, err := fastreg.Build(ctx, evil, fastreg.WithExclude("data/**"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := fastreg.Push(ctx, s, signedProject, b); err != nil {
		t.Fatal(err)
	}
	bundleRepo := store.BundleRepo(signedProject)
	raw, desc, err := s.GetManifest(ctx, bundleRepo, store.BundleTag(b.Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutManifest(ctx, bundleRepo, store.BundleTag(strings.TrimPrefix(identity, "sha256:")), string(desc.MediaType), raw); err != nil {
		t.Fatal(err)
	}
}
