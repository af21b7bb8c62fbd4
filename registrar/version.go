package registrar

import (
	"errors"
	"fmt"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrNotGitRepo means the directory is not inside a git repository and no
// explicit version was given.
var ErrNotGitRepo = errors.New("not a git repository")

var explicitVersionRE = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// VersionInfo is how a version was decided.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Dirty   bool   `json:"dirty"`
	// Time is the commit's committer time (zero outside git): the
	// reproducible created time of the version's manifests.
	Time time.Time `json:"commitTime,omitzero"`
}

// DetectVersion decides the version to register for the repository at dir:
// the explicit version if given (it must be a valid OCI tag; inside git the
// HEAD commit and the tree's dirtiness are still reported, because they
// decide what gets packaged); else the HEAD
// commit SHA read with go-git; a dirty working tree gets
// "<sha>-dirty-<first 12 hex of the bundle digest>", where dirtyDigest
// computes the digest of the working tree's bundle (only called when dirty).
func DetectVersion(dir, explicit string, dirtyDigest func() (string, error)) (VersionInfo, error) {
	if explicit != "" && !explicitVersionRE().MatchString(explicit) {
		return VersionInfo{}, fmt.Errorf("--version %q is not a valid version (letters, digits, _ . -; at most 128; it becomes an OCI tag)", explicit)
	}
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if explicit != "" && errors.Is(err, git.ErrRepositoryNotExists) {
		// Outside git there is no commit to package: the version names
		// whatever the caller registers.
		return VersionInfo{Version: explicit}, nil
	}
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return VersionInfo{}, fmt.Errorf("%s: %w; runway versions entities by commit SHA, so commit the code first, or pass --version", dir, ErrNotGitRepo)
	}
	if err != nil {
		return VersionInfo{}, fmt.Errorf("opening git repository at %s: %w", dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return VersionInfo{}, fmt.Errorf("reading HEAD of %s (is there a commit yet?): %w", dir, err)
	}
	info := VersionInfo{Version: head.Hash().String(), Commit: head.Hash().String()}
	if info.Time, err = commitTime(repo, head.Hash()); err != nil {
		return VersionInfo{}, fmt.Errorf("reading HEAD of %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		if explicit != "" {
			info.Version = explicit
		}
		return info, nil // bare repository: nothing can be dirty
	}
	st, err := wt.Status()
	if err != nil {
		return VersionInfo{}, fmt.Errorf("reading the status of %s: %w", dir, err)
	}
	if explicit != "" {
		// An explicit version still packages the code it names: the
		// commit's image and bundle, or the working tree's bundle when it
		// has uncommitted changes.
		info.Version, info.Dirty = explicit, !st.IsClean()
		return info, nil
	}
	if st.IsClean() {
		return info, nil
	}
	if dirtyDigest == nil {
		return VersionInfo{}, fmt.Errorf("%s has uncommitted changes; commit them or pass --version", dir)
	}
	d, err := dirtyDigest()
	if err != nil {
		return VersionInfo{}, fmt.Errorf("digesting the uncommitted working tree of %s: %w", dir, err)
	}
	hex := d
	if i := len("sha256:"); len(d) > i && d[:i] == "sha256:" {
		hex = d[i:]
	}
	if len(hex) < 12 {
		return VersionInfo{}, fmt.Errorf("bundle digest %q is too short", d)
	}
	info.Version = fmt.Sprintf("%s-dirty-%s", info.Commit, hex[:12])
	info.Dirty = true
	return info, nil
}

// ResolveCommit decides the version of an explicit revision (a PR head):
// the commit SHA it resolves to. The working tree does not matter.
func ResolveCommit(dir, rev string) (VersionInfo, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return VersionInfo{}, fmt.Errorf("%s: %w", dir, ErrNotGitRepo)
	}
	if err != nil {
		return VersionInfo{}, fmt.Errorf("opening git repository at %s: %w", dir, err)
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return VersionInfo{}, fmt.Errorf("resolving revision %q in %s: %w", rev, dir, err)
	}
	t, err := commitTime(repo, *h)
	if err != nil {
		return VersionInfo{}, fmt.Errorf("reading commit %s in %s: %w", h, dir, err)
	}
	return VersionInfo{Version: h.String(), Commit: h.String(), Time: t}, nil
}

// commitTime reads a commit's committer time and remembers it for
// Registrar (see record.go).
func commitTime(repo *git.Repository, h plumbing.Hash) (time.Time, error) {
	c, err := repo.CommitObject(h)
	if err != nil {
		return time.Time{}, err
	}
	t := c.Committer.When.UTC()
	rememberCommitTime(h.String(), t)
	return t, nil
}
