package fastreg

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// testRepo is a git repository a test made with the git CLI.
type testRepo struct {
	t   testing.TB
	dir string
}

// newRepo makes a repository with files (path -> content; a content
// starting with "-> " makes a symlink; a path ending in "*" is executable)
// and commits them.
func newRepo(t testing.TB, files map[string]string) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.write(files)
	r.commit("initial")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return r.gitIn("", args...)
}

func (r *testRepo) gitIn(stdin string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_AUTHOR_DATE=1700000000 +0000", "GIT_COMMITTER_DATE=1700000000 +0000",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir, "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		os.Remove(p)
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			r.t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// member is one tar entry as read back.
type member struct {
	hdr  *tar.Header
	data string
}

// readBundle reads every member of a built bundle, in order.
func readBundle(t *testing.T, b *Bundle) []member {
	t.Helper()
	raw := uncompressed(t, b)
	if int64(len(raw)) != b.Size {
		t.Fatalf("tar is %d bytes, bundle says %d", len(raw), b.Size)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	var ms []member
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{hdr: h, data: string(data)})
	}
	return ms
}

func names(ms []member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.hdr.Name)
	}
	return out
}

func build(t *testing.T, dir string, opts ...Option) *Bundle {
	t.Helper()
	return buildWith(t, Build, dir, opts...)
}

// buildWith runs Build or BuildWorktree with a temp dir the test removes.
func buildWith(t *testing.T, fn func(context.Context, string, ...Option) (*Bundle, error), dir string, opts ...Option) *Bundle {
	t.Helper()
	b, err := fn(context.Background(), dir, append([]Option{WithTempDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatalf("building bundle: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func sha(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// withStreamAbove lowers the size above which contents are streamed.
func withStreamAbove(n int64) Option {
	return func(o *options) error { o.streamAbove = n; return nil }
}
