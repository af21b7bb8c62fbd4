// Command serverimage builds runway's server image with runway's own
// packager (no Dockerfile) and pushes it by digest:
//
//	go run -ldflags "-X github.com/runway-ci/runway/internal/version.version=vX.Y.Z \
//	  -X github.com/runway-ci/runway/internal/version.commit=<sha>" ./tools/serverimage \
//	  -binary dist/runway-core_linux_amd64_v1/runway-core -repo ghcr.io/runway-ci/runway -commit <sha>
//
// It prints REPO/server/image@sha256:<digest>. The image is the packager's
// image for a pipeline with no base (scratch) and no dependencies: the
// static runway binary at /usr/local/bin/runway as its entrypoint
// (`podman run IMAGE serve ...`), labelled with the runway version that
// built it (the -ldflags above make that the release), annotated with the
// source commit. The packager tags it deps-<sha256 of the binary>, which is
// content-addressed: pushing the same binary again changes nothing. The
// release workflow (.github/workflows/release.yml) runs it through
// `.ci/release.sh image`; registry credentials come from the docker config.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store/remote"
	"github.com/runway-ci/runway/packager"
)

// Project is the image's project in the store: images are REPO/server/image.
const Project = "server"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "serverimage: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serverimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "", "the static linux runway-core binary to ship (required)")
	repo := fs.String("repo", "", "registry and prefix to push to, HOST[:PORT]/PREFIX (required)")
	commit := fs.String("commit", "", "the source commit, recorded as org.opencontainers.image.revision")
	source := fs.String("source", "https://github.com/runway-ci/runway", "the source repository URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" || *repo == "" {
		return errors.New("want -binary PATH and -repo HOST/PREFIX")
	}
	hash, err := fileSHA256(*binary)
	if err != nil {
		return err
	}
	s, err := remote.New(*repo, remote.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))))
	if err != nil {
		return err
	}
	res, err := packager.Build(ctx, s, packager.Request{
		Project:      Project,
		Image:        spec.Image{Base: packager.Scratch},
		Hash:         hash,
		Revision:     *commit,
		Source:       *source,
		RunwayBinary: *binary,
	})
	if err != nil {
		return fmt.Errorf("building the server image: %w", err)
	}
	fmt.Fprintf(stdout, "%s/%s@%s\n", *repo, res.Repo, res.Descriptor.Digest)
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the runway binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading the runway binary %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
