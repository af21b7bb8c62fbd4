package fastreg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runway-ci/runway/internal/archive"
)

// BuildWorktree makes the bundle of a (possibly dirty) checkout, for
// `runway register` from a developer's machine: the tracked files as they
// are in the worktree (deleted ones left out) plus untracked files that
// .gitignore, .git/info/exclude and nested .gitignore files do not ignore;
// minus bundle.exclude and the worktree's .runwayignore. Global git excludes
// (core.excludesFile) are not read, so the bundle does not depend on the
// machine's git configuration.
//
// Bundle.Dirty says whether the result differs from HEAD (compared by git
// blob id, path and mode after the same filters); a clean worktree gives the
// same bytes as Build at HEAD. Bundle.Version gives the entity version.
func BuildWorktree(ctx context.Context, repoDir string, opts ...Option) (*Bundle, error) {
	o, repo, err := begin(repoDir, opts)
	if err != nil {
		return nil, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("opening worktree of %s: %w", repoDir, err)
	}
	head, err := resolveCommit(repo, "HEAD")
	if err != nil {
		return nil, err
	}
	root := wt.Filesystem.Root()
	entries, skipped, err := worktreeEntries(ctx, repo, root, o.exclude)
	if err != nil {
		return nil, err
	}
	if err := checkBudget(entries, o.maxSize); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("opening worktree %s: %w", root, err)
	}
	defer r.Close()
	b := &Bundle{Commit: head.Hash.String(), Skipped: skipped}
	if err := b.write(ctx, o, entries, worktreeSource{root: r}, true); err != nil {
		return nil, err
	}
	dirty, err := differsFromCommit(ctx, repo, head, o.exclude, entries)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.Dirty = dirty
	o.log.DebugContext(ctx, "built worktree bundle", "commit", b.Commit, "dirty", dirty, "digest", b.Digest, "files", b.Files, "size", b.Size)
	return b, nil
}

// differsFromCommit reports whether entries (with their git blob ids filled
// in by the writer) differ from what Build would bundle at c.
func differsFromCommit(ctx context.Context, repo *git.Repository, c *object.Commit, exclude []string, entries []entry) (bool, error) {
	db, err := openObjectDB(repo)
	if err != nil {
		return false, err
	}
	defer db.Close()
	committed, _, err := listCommit(ctx, repo, db, c, exclude, false)
	if err != nil {
		return false, err
	}
	if len(committed) != len(entries) {
		return true, nil
	}
	for i := range entries {
		a, b := &entries[i], &committed[i]
		if a.path != b.path || a.kind != b.kind || a.hash != b.hash {
			return true, nil
		}
	}
	return false, nil
}

// worktreeEntries lists the files of the worktree at root that go into a
// bundle, sorted by path.
func worktreeEntries(ctx context.Context, repo *git.Repository, root string, exclude []string) ([]entry, []Skipped, error) {
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, nil, fmt.Errorf("reading git index: %w", err)
	}
	tracked := make(map[string]bool, len(idx.Entries))
	trackedDirs := map[string]bool{}
	submodules := map[string]bool{}
	var skipped []Skipped
	for _, e := range idx.Entries {
		if e.Mode == filemode.Submodule {
			if !submodules[e.Name] {
				submodules[e.Name] = true
				skipped = append(skipped, Skipped{Path: e.Name, Reason: SkipSubmodule})
			}
			continue
		}
		tracked[e.Name] = true
		for d := e.Name; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			if trackedDirs[d] {
				break
			}
			trackedDirs[d] = true
		}
	}
	ignore, err := readLimited(filepath.Join(root, RunwayIgnoreFile), maxIgnoreFile)
	if err != nil {
		return nil, nil, err
	}
	f, err := newFilter(exclude, ignore)
	if err != nil {
		return nil, nil, err
	}
	// info/exclude lives in the git directory, which may not be root/.git.
	var patterns []gitignore.Pattern
	if _, common, ok := gitDirs(repo); ok {
		ps, err := readGitignore(filepath.Join(common, "info", "exclude"), nil)
		if err != nil {
			return nil, nil, err
		}
		patterns = ps
	}

	var entries []entry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walking worktree: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			ps, err := readGitignore(filepath.Join(p, ".gitignore"), nil)
			if err != nil {
				return err
			}
			patterns = append(patterns, ps...)
			return nil
		}
		name := filepath.ToSlash(rel)
		segs := strings.Split(name, "/")
		if d.IsDir() {
			if isDotGit(d.Name()) {
				return filepath.SkipDir
			}
			if submodules[name] {
				return filepath.SkipDir
			}
			if _, err := os.Lstat(filepath.Join(p, ".git")); err == nil {
				if !f.excluded(name) && !gitignore.NewMatcher(patterns).Match(segs, true) {
					skipped = append(skipped, Skipped{Path: name, Reason: SkipNestedGit})
				}
				return filepath.SkipDir
			}
			if f.excludedDir(name) {
				return filepath.SkipDir
			}
			if !trackedDirs[name] && gitignore.NewMatcher(patterns).Match(segs, true) {
				return filepath.SkipDir
			}
			ps, err := readGitignore(filepath.Join(p, ".gitignore"), segs)
			if err != nil {
				return err
			}
			patterns = append(patterns, ps...)
			return nil
		}
		if !tracked[name] && gitignore.NewMatcher(patterns).Match(segs, false) {
			return nil
		}
		if hasDotGit(name) || f.excluded(name) {
			return nil
		}
		switch t := d.Type(); {
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, err)
			}
			k := kindFile
			if info.Mode().Perm()&0o111 != 0 {
				k = kindExec
			}
			entries = append(entries, entry{path: name, kind: k, size: info.Size(), disk: p})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("reading symlink %s: %w", name, err)
			}
			target = filepath.ToSlash(target)
			if !archive.LinkInside(name, target) {
				return &SymlinkError{Path: name, Target: target}
			}
			entries = append(entries, entry{path: name, kind: kindSymlink, target: target})
		default:
			skipped = append(skipped, Skipped{Path: name, Reason: SkipSpecial})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sortEntries(entries)
	return entries, skipped, nil
}

// readGitignore parses one ignore file (a missing file has no patterns).
func readGitignore(name string, domain []string) ([]gitignore.Pattern, error) {
	f, err := openIfExists(name)
	if f == nil {
		return nil, err
	}
	defer f.Close()
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(l, domain))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return ps, nil
}

// readLimited reads a regular file of at most max bytes; a missing file
// gives nil.
func readLimited(name string, max int64) ([]byte, error) {
	f, err := openIfExists(name)
	if f == nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimit(f, max, name)
}

// openIfExists opens name; a missing file gives (nil, nil).
func openIfExists(name string) (*os.File, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return f, nil
}

// worktreeSource reads entry contents from the worktree, through os.Root so
// a path never leaves it.
type worktreeSource struct{ root *os.Root }

func (w worktreeSource) read(e *entry, buf []byte) ([]byte, error) {
	f, err := w.root.Open(filepath.FromSlash(e.path))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", e.path, err)
	}
	defer f.Close()
	b, err := readFull(f, e.size, buf)
	if err != nil {
		return nil, fmt.Errorf("reading %s (did it change while bundling?): %w", e.path, err)
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("reading %s: it grew while bundling", e.path)
	}
	return b, nil
}

func (w worktreeSource) open(e *entry) (io.ReadCloser, error) {
	f, err := w.root.Open(filepath.FromSlash(e.path))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", e.path, err)
	}
	return f, nil
}
