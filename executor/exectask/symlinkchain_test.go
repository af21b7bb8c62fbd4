package exectask

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/fastreg"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/archivetest"
)

// TestRunRefusesSymlinkChain: exec-task refuses the chain a/up -> ..,
// a/evil -> up/../secret both as the code bundle and as a dir input; the
// command never runs and nothing outside the work directory is reachable
// through what was staged.
func TestRunRefusesSymlinkChain(t *testing.T) {
	ctx := context.Background()
	raw := archivetest.SymlinkChain(t)
	want := archivetest.Digest(raw)
	s, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutArtifact(ctx, s, store.BundleRepo("demo"), store.BundleTag(want.Hex), store.Artifact{
		ArtifactType: fastreg.ArtifactType,
		Layers:       []store.Blob{{MediaType: fastreg.LayerMediaType, Data: archivetest.Gzip(t, raw)}},
	}); err != nil {
		t.Fatal(err)
	}
	data := store.ExecutionRepo("demo", "development")
	if err := store.PutBlobBytes(ctx, s, data, raw); err != nil {
		t.Fatal(err)
	}
	spec := func(t *testing.T) *Spec {
		work := t.TempDir()
		ran := filepath.Join(work, "ran")
		sp := &Spec{Project: "demo", Domain: "development", Execution: "e", Node: "n", Attempt: 1, DataRepo: data, WorkDir: work}
		sp.Task.Command = []string{"/bin/sh", "-c", "touch " + ran}
		return sp
	}
	check := func(t *testing.T, sp *Spec, res *Result, reason executor.Reason, staged string) {
		t.Helper()
		if res.Failure == nil || res.Failure.Reason != reason {
			t.Fatalf("result %+v, want a %s failure", res, reason)
		}
		if _, err := os.Stat(filepath.Join(sp.WorkDir, "ran")); err == nil {
			t.Error("the command ran")
		}
		if _, err := os.Lstat(filepath.Join(staged, "a", "evil")); err == nil {
			t.Errorf("%s/a/evil was staged", staged)
		}
	}
	t.Run("bundle", func(t *testing.T) {
		sp := spec(t)
		sp.Task.Bundle = want.String()
		res := Run(ctx, sp, s, FetchBundle, io.Discard, io.Discard)
		check(t, sp, res, executor.ReasonBundle, filepath.Join(sp.WorkDir, "code"))
		if !res.Failure.Permanent {
			t.Error("a refused bundle is retried")
		}
	})
	t.Run("dir input", func(t *testing.T) {
		sp := spec(t)
		sp.Inputs = executor.Values{"data": {Type: executor.TypeDir, Digest: want.String(), Size: int64(len(raw))}}
		res := Run(ctx, sp, s, FetchBundle, io.Discard, io.Discard)
		check(t, sp, res, executor.ReasonBadInput, filepath.Join(sp.WorkDir, "inputs", "data"))
		if !res.Failure.Permanent {
			t.Error("a refused dir input is retried")
		}
	})
}
