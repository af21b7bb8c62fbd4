//go:build integration

package action

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/internal/testkit/testenv"
)

// TestActionAndCLIWriteIdenticalStores: given the same pull request, the
// Action (`runway action` on a pull_request event) and the CLI (`runway
// register --base --head`) leave byte-identical stores: the same
// repositories, the same tags, and under each tag the same manifest bytes
// and the same blobs. Both are the one runway-core binary, so the runway
// layer of the dependency image is the same file; what could still differ
// is the pipeline each entry point drives, and that is what is compared.
func TestActionAndCLIWriteIdenticalStores(t *testing.T) {
	bin := testenv.BuildStatic(t, "..", "./cmd/runway-core")
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	appendTo(t, filepath.Join(w.dir, "requirements.txt"), "# a dependency change: the image is rebuilt\n")
	appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# and a code change\n")
	head := commitAll(t, w.dir, "tune the model")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, User: exampleSender, HeadSHA: head, HeadRef: "changes", BaseSHA: base, BaseRef: "master"})

	res := w.runWith("pull_request", prPayload(t, "opened", prNumber, base, head, ""), "ghs_write", nil,
		func(env map[string]string, stdout *bytes.Buffer) error {
			return runBinary(t, bin, w.dir, env, stdout, "action")
		})
	if res.err != nil {
		t.Fatalf("runway action: %v\n%s", res.err, res.commands)
	}

	// Task entities name their image by its full reference, store location
	// included, so both entry points write to the same path: the Action's
	// store is moved aside before the CLI runs.
	actionStore := filepath.Join(t.TempDir(), "action-store")
	if err := os.Rename(w.storeDir, actionStore); err != nil {
		t.Fatal(err)
	}
	cliStore := w.storeDir
	var out bytes.Buffer
	env := map[string]string{"HOME": t.TempDir(), "RUNWAY_HOME": t.TempDir()}
	if err := runBinary(t, bin, w.dir, env, &out, "register", "--repo", w.dir, "--base", base, "--head", head,
		"--domain", "development", "--store", "file://"+cliStore); err != nil {
		t.Fatalf("runway register: %v\n%s", err, out.String())
	}

	action, cli := snapshot(t, "file://"+actionStore), snapshot(t, "file://"+cliStore)
	if len(action) == 0 {
		t.Fatal("the Action wrote nothing")
	}
	for ref, m := range action {
		if c := cli[ref]; c != m {
			i := 0
			for i < len(m) && i < len(c) && m[i] == c[i] {
				i++
			}
			from := max(0, i-120)
			t.Errorf("%s differs at byte %d: the Action wrote ...%q, the CLI ...%q", ref, i, m[from:min(len(m), i+80)], c[from:min(len(c), i+80)])
		}
	}
	for ref := range cli {
		if _, ok := action[ref]; !ok {
			t.Errorf("%s: written by the CLI only", ref)
		}
	}
	t.Logf("%d tags identical in both stores", len(action))
}

// runBinary runs runway-core with exactly env (and PATH), as a runner would.
func runBinary(t *testing.T, bin, dir string, env map[string]string, stdout *bytes.Buffer, args ...string) error {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	err := cmd.Run()
	if err != nil {
		t.Logf("%s %s: stderr:\n%s", filepath.Base(bin), strings.Join(args, " "), stderr.String())
	}
	return err
}

// snapshot reads every tag of every repository of a store: repo:tag ->
// the manifest's bytes, followed by the digests and bytes of every blob it
// names, so two snapshots are equal only if the stores hold the same
// content under the same names.
func snapshot(t *testing.T, ref string) map[string]string {
	t.Helper()
	ctx := context.Background()
	s, err := storeopen.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := s.Repositories(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, repo := range repos {
		tags, err := s.Tags(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(tags)
		for _, tag := range tags {
			raw, desc, err := s.GetManifest(ctx, repo, tag)
			if err != nil {
				t.Fatalf("%s:%s: %v", repo, tag, err)
			}
			var b strings.Builder
			b.Write(raw)
			m, err := store.ParseManifest(string(desc.MediaType), raw)
			if err != nil {
				t.Fatalf("%s:%s: %v", repo, tag, err)
			}
			blobs := m.Layers
			if m.Config != nil {
				blobs = append(blobs, *m.Config)
			}
			for _, d := range blobs {
				rc, err := s.GetBlob(ctx, repo, d.Digest)
				if err != nil {
					t.Fatalf("%s:%s blob %s: %v", repo, tag, d.Digest, err)
				}
				var blob bytes.Buffer
				_, err = blob.ReadFrom(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("\n" + d.Digest.String() + " " + blob.String())
			}
			out[repo+":"+tag] = b.String()
		}
	}
	return out
}
