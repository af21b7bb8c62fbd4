package exectask

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/provenance"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/archivetest"
)

// TestRunVerifiesProvenanceBeforeFetching: under a requirement, exec-task
// checks the bundle's signed provenance before the fetcher is called at
// all: a missing attestation, one by an untrusted key, and one whose
// statement does not name the bundle's content digest are each refused,
// permanently, with nothing fetched or extracted and the command not run;
// a valid one lets the attempt proceed.
func TestRunVerifiesProvenanceBeforeFetching(t *testing.T) {
	ctx := context.Background()
	raw := archivetest.SymlinkChain(t) // hostile: must never reach the extractor unverified
	id := archivetest.Digest(raw)
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	repo := store.BundleRepo("demo")
	desc, err := store.PutArtifact(ctx, s, repo, store.BundleTag(id.Hex), store.Artifact{
		ArtifactType: fastreg.ArtifactType,
		Layers:       []store.Blob{{MediaType: fastreg.LayerMediaType, Data: archivetest.Gzip(t, raw)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	key := func() (*provenance.Signer, string) {
		priv, pub, _, err := provenance.GenerateKey(provenance.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		sg, err := provenance.ParsePrivateKey("k", priv)
		if err != nil {
			t.Fatal(err)
		}
		return sg, string(pub)
	}
	trusted, trustedPub := key()
	other, _ := key()
	req := &provenance.Requirement{Domain: "production", TrustedKeys: []string{trustedPub}, RequireSignedBy: []string{trusted.ID()}}

	run := func(t *testing.T) (*Result, int, *Spec) {
		t.Helper()
		work := t.TempDir()
		sp := &Spec{Project: "demo", Domain: "production", Execution: "e", Node: "n", Attempt: 1, WorkDir: work, Provenance: req}
		sp.Task.Bundle = id.String()
		sp.Task.Command = []string{"/bin/sh", "-c", "touch " + filepath.Join(work, "ran")}
		fetched := 0
		fetch := func(ctx context.Context, s store.Store, project, digest, dst string) error {
			fetched++
			return errors.New("stop here: the test only checks that the fetcher was reached")
		}
		return Run(ctx, sp, s, fetch, io.Discard, io.Discard), fetched, sp
	}
	refused := func(t *testing.T, want string) {
		t.Helper()
		res, fetched, sp := run(t)
		if res.Failure == nil || res.Failure.Reason != executor.ReasonProvenance || !res.Failure.Permanent || !strings.Contains(res.Failure.Message, want) {
			t.Fatalf("failure %+v, want a permanent %s saying %q", res.Failure, executor.ReasonProvenance, want)
		}
		if fetched != 0 {
			t.Fatal("the bundle was fetched before its provenance was verified")
		}
		if ents, _ := os.ReadDir(filepath.Join(sp.WorkDir, "code")); len(ents) != 0 {
			t.Fatalf("code/ holds %d entries", len(ents))
		}
		if _, err := os.Stat(filepath.Join(sp.WorkDir, "ran")); err == nil {
			t.Fatal("the command ran")
		}
	}
	facts := provenance.Facts{Kind: provenance.KindBundle, Project: "demo", Commit: strings.Repeat("c", 40)}

	t.Run("missing", func(t *testing.T) {
		refused(t, "no attestation; domain production requires one signed by "+trusted.ID())
	})
	t.Run("untrusted key", func(t *testing.T) {
		if _, _, err := provenance.Attest(ctx, s, other, repo, desc, []provenance.Subject{{Name: repo, Digest: desc.Digest}, {Name: provenance.BundleSubjectName, Digest: id}}, facts); err != nil {
			t.Fatal(err)
		}
		refused(t, "which is not a trusted key")
	})
	t.Run("statement without the content digest", func(t *testing.T) {
		if _, _, err := provenance.Attest(ctx, s, trusted, repo, desc, nil, facts); err != nil {
			t.Fatal(err)
		}
		refused(t, "does not name the bundle's content digest "+id.String())
	})
	t.Run("valid", func(t *testing.T) {
		sub := []provenance.Subject{{Name: repo, Digest: desc.Digest}, {Name: provenance.BundleSubjectName, Digest: id}}
		env, err := provenance.Sign(ctx, trusted, sub, facts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provenance.Write(ctx, s, repo, desc, env, time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		res, fetched, _ := run(t)
		if fetched != 1 || res.Failure == nil || res.Failure.Reason != executor.ReasonStore {
			t.Fatalf("fetched %d times, failure %+v: a verified bundle must reach the fetcher", fetched, res.Failure)
		}
	})
}
