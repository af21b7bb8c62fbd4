//go:build integration

package nodetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runway-ci/runway/executor"
	kexec "github.com/runway-ci/runway/executor/kubernetes"
	"github.com/runway-ci/runway/internal/kubenames"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/internal/testkit/testenv"
	"github.com/runway-ci/runway/registrar"
)

// registryCredsOnNode runs the sample's prepare task from a registry that
// requires credentials: a second Debian docker-registry with htpasswd
// auth, serving a copy of the first one's storage (the registered image
// and bundle, under the same names and digests). Without credentials the
// kubelet's pull is refused (401) and the attempt fails as the classified
// image-pull failure; with WithDockerConfig the kubelet pulls with the
// imagePullSecret, exec-task fetches the bundle and pushes the outputs
// with /runway/docker/config.json, and a missing image then fails as
// "not found", not as unauthorized. The password, its base64 form and the
// config's bytes appear in no Job, pod, error, runner log or pod log.
func registryCredsOnNode(t *testing.T, e *env, image, plat string) {
	ctx := context.Background()
	pc, err := platform.Load(plat)
	if err != nil {
		t.Fatal(err)
	}
	const user = "runway-puller"
	password := "pw-" + randomHex(t, 16)
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	secrets := []string{password, auth}

	// The copy is taken while the first registry is idle (subtests run
	// one at a time); blobs are immutable, so a copy serves them as is.
	root := filepath.Join(t.TempDir(), "storage")
	if out, err := exec.Command("cp", "-a", e.reg.Root, root).CombinedOutput(); err != nil {
		t.Fatalf("copying the registry's storage: %v\n%s", err, out)
	}
	authReg := testenv.StartDockerRegistry(t, testenv.WithBasicAuth(user, password), testenv.WithStorage(root))
	if err := e.node.AddPlainHTTPRegistry(authReg.Host); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(image, e.reg.Host+"/") {
		t.Fatalf("the sample image %s is not in the test registry %s", image, e.reg.Host)
	}
	authImage := authReg.Host + strings.TrimPrefix(image, e.reg.Host)
	config, err := json.Marshal(map[string]any{"auths": map[string]any{authReg.Host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, string(config))

	// The registered prepare task, read from the open registry (the same
	// entity is in the copy).
	open, err := remote.New(e.reg.Host + "/runway")
	if err != nil {
		t.Fatal(err)
	}
	st, err := registrar.Get(ctx, open, registrar.ID{Project: "house-prices", Domain: "development", Kind: registrar.KindTask, Name: "prepare"})
	if err != nil || st.Entity.Task == nil {
		t.Fatalf("reading the registered prepare task: %v", err)
	}
	task := *st.Entity.Task
	if task.Bundle == "" || task.Image != image {
		t.Fatalf("the registered prepare task has bundle %q and image %q, want a bundle and %s", task.Bundle, task.Image, image)
	}
	task.Image = authImage
	attempt := func(project, node string, task registrar.Task) executor.Attempt {
		return executor.Attempt{
			ExecutionID: executor.NewID(time.Now()), NodeID: node, Number: 1, Project: project, Domain: "development",
			TaskRef: registrar.Ref{Project: "house-prices", Name: "prepare", Version: st.ID.Version},
			Task:    task,
			Inputs: executor.Values{
				"rows": {Type: executor.TypeInt, Scalar: int64(40)},
				"seed": {Type: executor.TypeInt, Scalar: int64(3)},
			},
			Outputs:  executor.Interface{"train": executor.TypeFile, "test": executor.TypeFile},
			Limits:   executor.Limits{MilliCPU: 500, MemoryBytes: 256 << 20},
			Timeout:  2 * time.Minute,
			DataRepo: project + "/development/execution",
		}
	}
	noLeak := func(t *testing.T, where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the registry credential (%d bytes) appears in %s", len(s), where)
			}
		}
	}
	manifestPath := "/v2/" + strings.SplitN(strings.TrimPrefix(authImage, authReg.Host+"/"), "@", 2)[0] + "/manifests/" + strings.SplitN(authImage, "@", 2)[1]

	// First, while the node has never pulled authImage: no credentials.
	t.Run("WithoutCredentialsPullRefused", func(t *testing.T) {
		logs := &lockedBuffer{}
		r, err := kexec.New(e.admin, authReg.Host+"/runway", kexec.WithPlatform(pc), kexec.WithImagePullGrace(time.Second),
			kexec.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		a := attempt("nocreds", "prepare", task)
		rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		start := time.Now()
		_, err = r.Run(rctx, a)
		te := executor.AsTaskError(err)
		if te.Reason != kexec.ReasonImagePull || te.Kind != executor.SystemFailure {
			t.Fatalf("without credentials: got %v, want a system %s failure\nnode:\n%s", err, kexec.ReasonImagePull, e.node.Diagnostics())
		}
		// containerd: "pull access denied, repository does not exist or
		// may require authorization: authorization failed: no basic auth
		// credentials".
		if !strings.Contains(te.Message, "authorization failed") {
			t.Errorf("the pull failure does not say the registry refused it for want of credentials: %s", te.Message)
		}
		if n := responses(t, authReg.Log, manifestPath, "401"); n == 0 {
			t.Errorf("the registry answered no request for %s with 401", manifestPath)
		}
		if n := responses(t, authReg.Log, manifestPath, "200"); n != 0 {
			t.Errorf("the registry served the manifest %d times to a client without credentials", n)
		}
		t.Logf("%s after %s: %s", te.Reason, time.Since(start).Round(time.Millisecond), te.Message)
	})
	if t.Failed() {
		return
	}

	t.Run("WithDockerConfig", func(t *testing.T) {
		logs := &lockedBuffer{}
		r, err := kexec.New(e.admin, authReg.Host+"/runway", kexec.WithPlatform(pc), kexec.WithImagePullGrace(time.Second),
			kexec.WithDockerConfig(config),
			kexec.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ns, _ := r.Namespace("creds", "development")
		rctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()

		a := attempt("creds", "prepare", task)
		start := time.Now()
		res, err := r.Run(rctx, a)
		if err != nil {
			t.Fatalf("with credentials: %v\npods:\n%s\nnode:\n%s", err, e.podLogs(ns, a.ExecutionID), e.node.Diagnostics())
		}
		t.Logf("prepare ran from the authenticated registry in %s: outputs %v", time.Since(start).Round(time.Millisecond), keys(res.Outputs))
		for _, k := range []string{"train", "test"} {
			if v := res.Outputs[k]; v.Type != executor.TypeFile || !strings.HasPrefix(v.Digest, "sha256:") {
				t.Errorf("output %s = %+v, want a file pushed to the store", k, v)
			}
		}
		// The kubelet pulled authImage from the registry with the
		// imagePullSecret: the registry served its manifest.
		if n := responses(t, authReg.Log, manifestPath, "200"); n == 0 {
			t.Errorf("the registry never served %s to an authenticated client", manifestPath)
		}
		// exec-task pushed the outputs there with /runway/docker/config.json.
		if n := responses(t, authReg.Log, "/v2/runway/creds/development/execution/blobs/uploads/", "201"); n == 0 {
			t.Errorf("exec-task completed no blob upload to the authenticated registry")
		}

		jobs, err := e.admin.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(a.ExecutionID)})
		if err != nil || len(jobs.Items) != 1 {
			t.Fatalf("the attempt's Job: %v (%d Jobs)", err, len(jobs.Items))
		}
		job := jobs.Items[0]
		if ps := job.Spec.Template.Spec.ImagePullSecrets; len(ps) != 1 || ps[0].Name != kexec.RegistrySecretName {
			t.Errorf("image pull secrets %v, want %s", ps, kexec.RegistrySecretName)
		}
		raw, _ := json.Marshal(job)
		noLeak(t, "the Job", string(raw))
		pods, err := e.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kubenames.LabelExecution + "=" + kubenames.LabelValue(a.ExecutionID)})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("the attempt's pod: %v", err)
		}
		p := pods.Items[0]
		if p.Spec.NodeName != e.node.Name || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].ImageID == "" {
			t.Errorf("pod %s on %q, statuses %+v: want it run on the real node", p.Name, p.Spec.NodeName, p.Status.ContainerStatuses)
		}
		raw, _ = json.Marshal(p)
		noLeak(t, "the pod", string(raw))
		noLeak(t, "the pod's log", e.podLogs(ns, a.ExecutionID))
		sec, err := e.admin.CoreV1().Secrets(ns).Get(ctx, kexec.RegistrySecretName, metav1.GetOptions{})
		if err != nil || sec.Type != corev1.SecretTypeDockerConfigJson || !bytes.Equal(sec.Data[corev1.DockerConfigJsonKey], config) {
			t.Errorf("the runner's registry secret in %s: %v (type %v)", ns, err, sec.Type)
		}

		// The credentials are accepted: an image the registry lacks is
		// "not found", not unauthorized; the error does not carry them.
		missing := task
		missing.Image = authReg.Host + "/runway/house-prices/none@sha256:" + strings.Repeat("2", 64)
		_, err = r.Run(rctx, attempt("creds", "missing", missing))
		te := executor.AsTaskError(err)
		if te.Reason != kexec.ReasonImagePull || te.Kind != executor.SystemFailure {
			t.Fatalf("a missing image with credentials: got %v, want a system %s failure", err, kexec.ReasonImagePull)
		}
		if strings.Contains(te.Message, "authorization failed") {
			t.Errorf("with credentials the registry still refused the pull for want of them: %s", te.Message)
		}
		if n := responses(t, authReg.Log, "/v2/runway/house-prices/none/manifests/", "404"); n == 0 {
			t.Errorf("the registry never told an authenticated client that the missing image is not there (404)")
		}
		noLeak(t, "the runner's error", err.Error())
		noLeak(t, "the runner's log", logs.String())
		t.Logf("missing image with credentials: %s", te.Message)
	})
}

// accessLine is one docker-registry access log line: method, path, status.
var accessLine = regexp.MustCompile(`"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) `)

// responses counts the requests in a docker-registry log whose path
// contains part and that were answered with status.
func responses(tb testing.TB, log, part, status string) int {
	tb.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, m := range accessLine.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[2], part) && m[3] == status {
			n++
		}
	}
	return n
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// lockedBuffer is a log sink the runner's goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
