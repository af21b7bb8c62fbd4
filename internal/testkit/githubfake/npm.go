package githubfake

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// The npm packages runway's GitHub tests read, pinned so that a new release
// cannot change a test's input unnoticed.
const (
	OpenAPIPackage         = "@octokit/openapi"
	OpenAPIVersion         = "23.0.2"
	WebhookExamplesPackage = "@octokit/webhooks-examples"
	WebhookExamplesVersion = "7.6.1"
)

// NPMPackage fetches name@version with `npm pack` (the ordinary npm client,
// from the registry npm is configured for) and unpacks it under a cache
// directory ($RUNWAY_TEST_CACHE, else the user cache directory), once per
// machine. It returns the directory holding the package's files (the
// tarball's "package/" folder). Only the files whose path starts with one
// of only are unpacked; none means all.
func NPMPackage(ctx context.Context, name, version string, only ...string) (string, error) {
	base := os.Getenv("RUNWAY_TEST_CACHE")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("finding a cache directory for npm packages: %w", err)
		}
		base = filepath.Join(c, "runway-test")
	}
	dir := filepath.Join(base, "npm", strings.NewReplacer("@", "", "/", "_").Replace(name)+"-"+version)
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("fetching %s@%s needs the npm client, which is not installed (apt-get install npm): %w", name, version, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", "--pack-destination", tmp, name+"@"+version)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm pack %s@%s: %w\n%s", name, version, err, out)
	}
	tgz, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgz) != 1 {
		return "", fmt.Errorf("npm pack %s@%s wrote %d tarballs, want 1", name, version, len(tgz))
	}
	unpacked := filepath.Join(tmp, "unpacked")
	if err := untar(tgz[0], unpacked, only); err != nil {
		return "", fmt.Errorf("unpacking %s@%s: %w", name, version, err)
	}
	if err := os.Rename(unpacked, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "package.json")); serr == nil {
			return dir, nil // another test process won the race
		}
		return "", err
	}
	return dir, nil
}

func untar(tgz, dst string, only []string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		rel, ok := strings.CutPrefix(path.Clean(h.Name), "package/")
		if !ok || strings.HasPrefix(rel, "../") || rel == ".." {
			continue
		}
		if rel != "package.json" && len(only) > 0 && !hasAnyPrefix(rel, only) {
			continue
		}
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		w, err := os.Create(p)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, tr); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
}

func hasAnyPrefix(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
