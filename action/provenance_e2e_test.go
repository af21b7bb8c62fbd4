package action

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// TestActionSignsWithKeyFromSecret (issue 14 §3): the Action signs what a
// PR registers with the key a workflow passes from a GitHub secret
// (signingKey: {env: RUNWAY_SIGNING_KEY}); the whole chain verifies under
// the trusted public key. Without the secret the run fails before
// anything is written, naming the variable, and the key never shows in
// outputs, summary or workflow commands.
func TestActionSignsWithKeyFromSecret(t *testing.T) {
	ctx := context.Background()
	priv, pub, id, err := provenance.GenerateKey(provenance.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	platFile := filepath.Join(t.TempDir(), "platform.yaml")
	y := fmt.Sprintf("provenance:\n  signingKey: {env: RUNWAY_SIGNING_KEY}\n  trustedKeys: [{pem: %q}]\n", pub)
	if err := os.WriteFile(platFile, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("without the secret", func(t *testing.T) {
		w, base := newWorld(t)
		appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
		head := commitAll(t, w.dir, "change")
		w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: 7, User: exampleSender, HeadSHA: head, HeadRef: "b", BaseSHA: base, BaseRef: "master"})
		res := w.run("pull_request", prPayload(t, "opened", 7, base, head, ""), "ghs_write", map[string]string{"INPUT_PLATFORM-CONFIG": platFile})
		if res.err == nil || !strings.Contains(res.err.Error(), "$RUNWAY_SIGNING_KEY is not set") {
			t.Fatalf("err = %v", res.err)
		}
		if repos, _ := w.store().Repositories(ctx, ""); len(repos) != 0 {
			t.Fatalf("wrote %v without a signing key", repos)
		}
	})
	t.Run("with the secret", func(t *testing.T) {
		w, base := newWorld(t)
		appendTo(t, filepath.Join(w.dir, "pipeline", "train.py"), "\n# change\n")
		head := commitAll(t, w.dir, "change")
		w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: 7, User: exampleSender, HeadSHA: head, HeadRef: "b", BaseSHA: base, BaseRef: "master"})
		res := w.run("pull_request", prPayload(t, "opened", 7, base, head, ""), "ghs_write",
			map[string]string{"INPUT_PLATFORM-CONFIG": platFile, "RUNWAY_SIGNING_KEY": string(priv)})
		if res.err != nil {
			t.Fatal(res.err)
		}
		for _, s := range append([]string{res.summary, res.commands}, values(res.outputs)...) {
			if strings.Contains(s, "PRIVATE KEY") {
				t.Fatal("the signing key shows in the Action's output")
			}
		}
		plat, err := platform.Load(platFile)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := flow.Verify(ctx, flow.NewProject(w.store(), plat, nil), flow.VerifyRequest{Project: project, Domain: "development", Subject: "launchplan/nightly@" + head})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Chain) != 8 {
			t.Fatalf("chain of %d links, want 8", len(rep.Chain))
		}
		for _, c := range rep.Chain {
			if !c.Verified || c.SignedBy[0] != id || c.Statement.Commit != head {
				t.Fatalf("link %s: %+v", c.What, c)
			}
		}
	})
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
