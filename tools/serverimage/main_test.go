package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/testkit/storetest"
	"github.com/runway-ci/runway/internal/version"
	"github.com/runway-ci/runway/packager"
)

// TestServerImage builds the image from a static binary into an
// in-process registry and reads it back by the digest it printed.
func TestServerImage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "runway-core")
	build := exec.Command("go", "build", "-o", bin, "../../internal/version/testdata/printversion")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a static binary: %v\n%s", err, out)
	}
	reg := storetest.NewRegistry(t)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-binary", bin, "-repo", reg.Host + "/runway", "-commit", commit}, &out, &errb); err != nil {
		t.Fatalf("serverimage: %v\n%s", err, errb.String())
	}
	ref := strings.TrimSpace(out.String())
	if !strings.HasPrefix(ref, reg.Host+"/runway/server/image@sha256:") {
		t.Fatalf("printed %q, want REPO/server/image@sha256:...", ref)
	}
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != packager.RunwayPath {
		t.Errorf("entrypoint %v, want [%s]", got, packager.RunwayPath)
	}
	if got := cfg.Config.Labels[store.AnnotationRunwayVersion]; got != version.String() {
		t.Errorf("label %s = %q, want %q", store.AnnotationRunwayVersion, got, version.String())
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Annotations[store.AnnotationRevision]; got != commit {
		t.Errorf("revision annotation %q, want %s", got, commit)
	}
	// The same binary again: the same digest, nothing new.
	out.Reset()
	if err := run(context.Background(), []string{"-binary", bin, "-repo", reg.Host + "/runway", "-commit", commit}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if again := strings.TrimSpace(out.String()); again != ref {
		t.Errorf("second push printed %s, want %s", again, ref)
	}
}

func TestServerImageRefusesBadInput(t *testing.T) {
	var out, errb bytes.Buffer
	for name, args := range map[string][]string{
		"no binary":      {"-repo", "127.0.0.1:1/runway"},
		"missing binary": {"-binary", filepath.Join(t.TempDir(), "nope"), "-repo", "127.0.0.1:1/runway"},
		"no repo":        {"-binary", "/bin/sh"},
	} {
		if err := run(context.Background(), args, &out, &errb); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
