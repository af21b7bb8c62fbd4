package fastreg

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestBuildSelectsFiles(t *testing.T) {
	files := map[string]string{
		"runway.yaml":       "project: demo\n",
		"src/app.py":        "print('hi')\n",
		"src/run.sh*":       "#!/bin/sh\necho run\n",
		"src/link.py":       "-> app.py",
		"src/up":            "-> ../runway.yaml",
		"data/big.csv":      "1,2,3\n",
		"data/sub/more.csv": "4,5,6\n",
		"notes/scratch.txt": "scratch\n",
		"notes/keep.txt":    "keep\n",
		"build/out.o":       "obj\n",
		".runwayignore":     "# comments are fine\n*.txt\n!keep.txt\nbuild/\n",
		".gitignore":        "*.log\n",
		"a.b":               "sorts before a/",
		"a/b":               "sorts after a.b",
		strings.Repeat("d", 60) + "/" + strings.Repeat("f", 60) + ".py": "long name\n",
	}
	tests := []struct {
		name    string
		exclude []string
		want    []string
	}{
		{
			name: "runwayignore only",
			want: []string{".gitignore", ".runwayignore", "a.b", "a/b", "data/big.csv", "data/sub/more.csv",
				strings.Repeat("d", 60) + "/" + strings.Repeat("f", 60) + ".py",
				"notes/keep.txt", "runway.yaml", "src/app.py", "src/link.py", "src/run.sh", "src/up"},
		},
		{
			name:    "bundle.exclude globs",
			exclude: []string{"data/**", "d*", "src/*.sh"},
			want: []string{".gitignore", ".runwayignore", "a.b", "a/b",
				"notes/keep.txt", "runway.yaml", "src/app.py", "src/link.py", "src/up"},
		},
	}
	r := newRepo(t, files)
	// The worktree and untracked files never reach a commit bundle.
	r.write(map[string]string{"src/app.py": "changed in the worktree\n", "untracked.py": "x\n", "debug.log": "log\n"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := build(t, r.dir, WithExclude(tc.exclude...))
			ms := readBundle(t, b)
			if got := names(ms); !slices.Equal(got, tc.want) {
				t.Fatalf("members:\n got %q\nwant %q", got, tc.want)
			}
			if b.Files != len(tc.want) {
				t.Errorf("Files = %d, want %d", b.Files, len(tc.want))
			}
			for _, m := range ms {
				switch m.hdr.Name {
				case "src/app.py":
					if m.data != "print('hi')\n" {
						t.Errorf("src/app.py = %q: read from the worktree, not the commit", m.data)
					}
				case "src/link.py":
					if m.hdr.Typeflag != tar.TypeSymlink || m.hdr.Linkname != "app.py" {
						t.Errorf("src/link.py: type %q -> %q, want symlink -> app.py", m.hdr.Typeflag, m.hdr.Linkname)
					}
				}
			}
		})
	}
}

func TestBuildNormalisesHeaders(t *testing.T) {
	r := newRepo(t, map[string]string{
		"plain.txt":                        "plain\n",
		"tool.sh*":                         "#!/bin/sh\n",
		"lnk":                              "-> plain.txt",
		"deep/" + strings.Repeat("n", 120): "long",
		"longlink":                         "-> " + strings.Repeat("./", 60) + "plain.txt",
	})
	b := build(t, r.dir)
	raw := readTar(t, b)
	if strings.Contains(raw, "PaxHeaders") || strings.Contains(raw, "mtime=") {
		t.Errorf("tar holds PAX records")
	}
	for _, m := range readBundle(t, b) {
		h := m.hdr
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 0:0 and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v, want mtime 0 only", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
		}
		if h.Format != tar.FormatGNU {
			t.Errorf("%s: format %v, want GNU", h.Name, h.Format)
		}
		want := int64(0o644)
		switch h.Name {
		case "tool.sh":
			want = 0o755
		case "lnk", "longlink":
			want = 0o777
		}
		if h.Mode != want {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, want)
		}
		if h.Typeflag == tar.TypeDir {
			t.Errorf("%s: directory entry; bundles hold files and symlinks only", h.Name)
		}
	}
	if got := tarSize(mustEntries(t, r.dir)); got != b.Size {
		t.Errorf("tarSize = %d, written tar is %d bytes", got, b.Size)
	}
}

func readTar(t *testing.T, b *Bundle) string {
	t.Helper()
	var sb strings.Builder
	for _, m := range readBundle(t, b) {
		sb.WriteString(m.hdr.Name)
		for k, v := range m.hdr.PAXRecords {
			sb.WriteString("PaxHeaders" + k + v)
		}
	}
	return sb.String()
}

func mustEntries(t *testing.T, dir string) []entry {
	t.Helper()
	repo, err := openRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openObjectDB(repo)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := resolveCommit(repo, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := listCommit(context.Background(), repo, db, c, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestBuildIsReproducible(t *testing.T) {
	files := map[string]string{"runway.yaml": "project: demo\n", "x.sh*": "#!/bin/sh\n"}
	for i := range 120 {
		files[fmt.Sprintf("pkg%02d/mod%03d.py", i%7, i)] = strings.Repeat(fmt.Sprintf("line %d of module %d\n", i, i), 50+20*i)
	}
	r1 := newRepo(t, files)
	// A second clone made later, elsewhere, with another umask: other
	// mtimes, inode numbers, owners and modes in the worktree.
	old := umask(0o077)
	r2 := &testRepo{t: t, dir: t.TempDir()}
	r2.git("clone", "-q", r1.dir, ".")
	umask(old)

	a := build(t, r1.dir, WithConcurrency(1))
	b := build(t, r1.dir, WithConcurrency(4))
	c := build(t, r2.dir)
	for _, x := range []*Bundle{b, c} {
		if x.Digest != a.Digest || x.CompressedDigest != a.CompressedDigest || x.CompressedSize != a.CompressedSize {
			t.Errorf("bundles differ: %s/%s vs %s/%s", x.Digest, x.CompressedDigest, a.Digest, a.CompressedDigest)
		}
	}
	// The same tree at another commit is the same bundle.
	r1.commit("empty commit")
	if d := build(t, r1.dir); d.Digest != a.Digest || d.Commit == a.Commit {
		t.Errorf("same tree at a new commit: digest %s commit %s, want digest %s and a new commit", d.Digest, d.Commit, a.Digest)
	}
}

func TestBuildRevision(t *testing.T) {
	r := newRepo(t, map[string]string{"v.txt": "one\n"})
	first := r.git("rev-parse", "HEAD")
	r.write(map[string]string{"v.txt": "two\n"})
	r.commit("two")
	r.git("tag", "v1", first)
	for _, rev := range []string{first, "v1", "HEAD~1", "main~1"} {
		b := build(t, r.dir, WithRevision(rev))
		ms := readBundle(t, b)
		if b.Commit != first || len(ms) != 1 || ms[0].data != "one\n" {
			t.Errorf("revision %s: commit %s members %v", rev, b.Commit, ms)
		}
	}
}

func TestBuildRefusesEscapingSymlinks(t *testing.T) {
	tests := []struct{ name, link, target string }{
		{"parent of root", "up", "-> .."},
		{"outside via ..", "src/out", "-> ../../etc/passwd"},
		{"absolute", "abs", "-> /etc/passwd"},
		{"dotdot after a name", "a/x", "-> b/../../../y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, map[string]string{"ok.txt": "ok", tc.link: tc.target})
			_, err := Build(context.Background(), r.dir, WithTempDir(t.TempDir()))
			var se *SymlinkError
			if !errors.As(err, &se) || !errors.Is(err, ErrSymlinkEscape) || se.Path != tc.link {
				t.Fatalf("err = %v, want a SymlinkError for %s", err, tc.link)
			}
			if !strings.Contains(err.Error(), tc.link) || !strings.Contains(err.Error(), strings.TrimPrefix(tc.target, "-> ")) {
				t.Errorf("error %q does not name the link and its target", err)
			}
		})
	}
	// Excluded links are never looked at.
	r := newRepo(t, map[string]string{"ok.txt": "ok", "vendor/out": "-> /etc"})
	build(t, r.dir, WithExclude("vendor"))
}

func TestBuildSkipsSubmodules(t *testing.T) {
	sub := newRepo(t, map[string]string{"lib.py": "lib\n"})
	r := newRepo(t, map[string]string{"main.py": "main\n"})
	r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.dir, "third_party/lib")
	r.commit("add submodule")
	b := build(t, r.dir)
	if got := names(readBundle(t, b)); !slices.Equal(got, []string{".gitmodules", "main.py"}) {
		t.Errorf("members %q", got)
	}
	if len(b.Skipped) != 1 || b.Skipped[0].Path != "third_party/lib" || b.Skipped[0].Reason != SkipSubmodule {
		t.Errorf("Skipped = %+v, want the submodule", b.Skipped)
	}
}

func TestBuildOverBudget(t *testing.T) {
	files := map[string]string{}
	for i := range 14 {
		files[fmt.Sprintf("f%02d.bin", i)] = strings.Repeat("x", 1000*(i+1))
	}
	r := newRepo(t, files)
	_, err := Build(context.Background(), r.dir, WithMaxSize(50_000), WithTempDir(t.TempDir()))
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want TooLargeError", err)
	}
	if len(tl.Largest) != 10 || tl.Largest[0] != (FileSize{"f13.bin", 14000}) || tl.Largest[9] != (FileSize{"f04.bin", 5000}) {
		t.Errorf("Largest = %v", tl.Largest)
	}
	if tl.Limit != 50_000 || tl.Size <= 50_000 {
		t.Errorf("Size %d Limit %d", tl.Size, tl.Limit)
	}
	if !strings.Contains(err.Error(), "f13.bin") || !strings.Contains(err.Error(), "13.7 KiB") {
		t.Errorf("message does not list the largest files:\n%s", err)
	}
	// Excluding them brings it under budget.
	build(t, r.dir, WithMaxSize(50_000), WithExclude("f1*", "f0[5-9]*"))
}

func TestBuildBadInput(t *testing.T) {
	empty := &testRepo{t: t, dir: t.TempDir()}
	empty.git("init", "-q")
	r := newRepo(t, map[string]string{"a": "a"})
	tests := []struct {
		name string
		dir  string
		opts []Option
		want string
		is   error
	}{
		{"not a repository", t.TempDir(), nil, "opening git repository", nil},
		{"no commit", empty.dir, nil, "resolving HEAD", ErrNoCommit},
		{"unknown revision", r.dir, []Option{WithRevision("nope")}, `resolving revision "nope"`, nil},
		{"empty revision", r.dir, []Option{WithRevision("")}, "revision must not be empty", nil},
		{"bad exclude", r.dir, []Option{WithExclude("/abs")}, "bundle.exclude", nil},
		{"bad exclude class", r.dir, []Option{WithExclude("[")}, "bundle.exclude", nil},
		{"zero budget", r.dir, []Option{WithMaxSize(0)}, "must be positive", nil},
		{"zero concurrency", r.dir, []Option{WithConcurrency(0)}, "at least 1", nil},
		{"nil logger", r.dir, []Option{WithLogger(nil)}, "logger", nil},
		{"missing temp dir", r.dir, []Option{WithTempDir(filepath.Join(t.TempDir(), "nope"))}, "creating bundle file", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(context.Background(), tc.dir, tc.opts...)
			if err == nil {
				b.Close()
				t.Fatal("Build succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBuildCancelled(t *testing.T) {
	r := newRepo(t, map[string]string{"a": "a", "b/c": "c"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, err := Build(ctx, r.dir, WithTempDir(dir)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}

func TestBundleWriteFileAndClose(t *testing.T) {
	r := newRepo(t, map[string]string{"a": "a"})
	b := build(t, r.dir)
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := b.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != b.CompressedSize || sha(got) != b.CompressedDigest {
		t.Errorf("--out file is %d bytes %s, bundle %d %s", len(got), sha(got), b.CompressedSize, b.CompressedDigest)
	}
	s := b.Summary()
	if s.Digest != b.Digest.String() || s.Files != 1 || s.Version != r.git("rev-parse", "HEAD") || s.Dirty {
		t.Errorf("summary %+v", s)
	}
	tmp := b.Path()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file still there after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.WriteFile(out); err == nil {
		t.Errorf("WriteFile after Close succeeded")
	}
}

func TestBuildReportsBrokenObjects(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, path string)
		want    string
	}{
		{"missing", func(t *testing.T, p string) { os.Remove(p) }, "pipeline/b.py"},
		{"garbage", func(t *testing.T, p string) {
			os.Chmod(p, 0o644)
			os.WriteFile(p, []byte("not zlib at all"), 0o644)
		}, "pipeline/b.py"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			files := map[string]string{"pipeline/b.py": "the blob we break\n"}
			for i := range 50 {
				files[fmt.Sprintf("pipeline/f%02d.py", i)] = strings.Repeat("x", i*100)
			}
			r := newRepo(t, files)
			h := r.git("rev-parse", "HEAD:pipeline/b.py")
			tc.breakIt(t, filepath.Join(r.dir, ".git", "objects", h[:2], h[2:]))
			tmp := t.TempDir()
			_, err := Build(context.Background(), r.dir, WithTempDir(tmp))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

// TestIdentifyMatchesBuild: the cheap identity is the built bundle's.
func TestIdentifyMatchesBuild(t *testing.T) {
	r := sampleRepo(t)
	b := build(t, r.dir, WithExclude("bin"))
	id, err := Identify(context.Background(), r.dir, WithExclude("bin"))
	if err != nil {
		t.Fatal(err)
	}
	if id != (Identity{Digest: b.Digest, Size: b.Size, Files: b.Files, Commit: b.Commit}) {
		t.Errorf("Identify = %+v, Build gave %s %d %d %s", id, b.Digest, b.Size, b.Files, b.Commit)
	}
	if _, err := Identify(context.Background(), r.dir, WithMaxSize(10)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over budget: err = %v", err)
	}
}
