package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Checkouts is the server's stand-in for actions/checkout: a cache of
// working copies per repository, fetched with go-git over HTTPS with the
// installation token.
//
// Each repository has a small pool of slots (<dir>/<owner>/<repo>/<n>),
// each a full, non-bare clone; a Checkout takes a free slot for itself,
// so two pull requests of one repository are checked out side by side and
// a slot is never shared while in use. The first use of a slot fetches the
// history once; later uses fetch only what is new (the branches and the
// pull requests' heads, refs/pull/N/head, which is where a fork PR's head
// lives), which is cheaper than a shallow clone deepened until base and
// head meet, and always reaches their merge base. Tags are not fetched.
//
// A checkout is forced to the asked commit (detached) and untracked files
// are removed, so nothing of a previous use leaks into the next.
type Checkouts struct {
	dir    string
	gitURL string
	token  func(ctx context.Context, installation int64) (string, error)
	log    *slog.Logger
	tries  int
	wait   time.Duration

	mu    sync.Mutex
	free  map[string][]string
	slots map[string]int
}

// NewCheckouts keeps working copies under dir. gitURL is the git host
// ("https://github.com"): repository owner/name is fetched from
// gitURL/owner/name.git. token returns the token for an installation (an
// installation token, or the one token of a token setup); "" fetches
// anonymously.
func NewCheckouts(dir, gitURL string, token func(ctx context.Context, installation int64) (string, error), log *slog.Logger) *Checkouts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checkouts{dir: dir, gitURL: strings.TrimRight(gitURL, "/"), token: token, log: log, tries: 3, wait: time.Second,
		free: map[string][]string{}, slots: map[string]int{}}
}

var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// Checkout gives a working copy of repo (owner/name) at commits[0], with
// every commit of commits present in its history. release gives the slot
// back; the directory must not be used after.
func (c *Checkouts) Checkout(ctx context.Context, repo string, installation int64, commits ...string) (dir string, release func(), err error) {
	if !repoNameRE.MatchString(repo) || strings.Contains(repo, "..") {
		return "", nil, fmt.Errorf("checking out %q: not an owner/name repository", repo)
	}
	if len(commits) == 0 {
		return "", nil, fmt.Errorf("checking out %s: no commit asked for", repo)
	}
	for _, sha := range commits {
		if !plumbing.IsHash(sha) {
			return "", nil, fmt.Errorf("checking out %s: %q is not a full commit SHA", repo, sha)
		}
	}
	slot := c.take(repo)
	give := func() { c.give(repo, slot) }
	defer func() {
		if err != nil {
			give()
		}
	}()
	dir = slot
	r, err := c.open(dir, repo)
	if err != nil {
		return "", nil, err
	}
	if err := c.fetch(ctx, r, repo, installation, commits); err != nil {
		return "", nil, err
	}
	wt, err := r.Worktree()
	if err != nil {
		return "", nil, fmt.Errorf("checking out %s: %w", repo, err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: plumbing.NewHash(commits[0]), Force: true}); err != nil {
		return "", nil, fmt.Errorf("checking out %s at %s: %w", repo, commits[0], err)
	}
	if err := wt.Clean(&git.CleanOptions{Dir: true}); err != nil {
		return "", nil, fmt.Errorf("cleaning the checkout of %s: %w", repo, err)
	}
	return dir, give, nil
}

func (c *Checkouts) take(repo string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.free[repo]; len(f) > 0 {
		dir := f[len(f)-1]
		c.free[repo] = f[:len(f)-1]
		return dir
	}
	n := c.slots[repo]
	c.slots[repo] = n + 1
	return filepath.Join(c.dir, filepath.FromSlash(repo), strconv.Itoa(n))
}

func (c *Checkouts) give(repo, dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.free[repo] = append(c.free[repo], dir)
}

func (c *Checkouts) open(dir, repo string) (*git.Repository, error) {
	r, err := git.PlainOpen(dir)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("opening the checkout of %s in %s: %w", repo, dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the checkout of %s: %w", repo, err)
	}
	r, err = git.PlainInit(dir, false)
	if err != nil {
		return nil, fmt.Errorf("creating the checkout of %s in %s: %w", repo, dir, err)
	}
	_, err = r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{c.gitURL + "/" + repo + ".git"}})
	if err != nil {
		return nil, fmt.Errorf("creating the checkout of %s: %w", repo, err)
	}
	return r, nil
}

// fetch brings the branches and pull request heads up to date, with
// retries and backoff on network and server errors (not on refused
// credentials), and checks that every wanted commit arrived.
func (c *Checkouts) fetch(ctx context.Context, r *git.Repository, repo string, installation int64, commits []string) error {
	missing := func() []string {
		var m []string
		for _, sha := range commits {
			if _, err := r.CommitObject(plumbing.NewHash(sha)); err != nil {
				m = append(m, sha)
			}
		}
		return m
	}
	if len(missing()) == 0 {
		return nil // everything is here already: no network at all
	}
	var err error
	for attempt := 1; attempt <= c.tries; attempt++ {
		var auth transport.AuthMethod
		if c.token != nil {
			tok, terr := c.token(ctx, installation)
			if terr != nil {
				return fmt.Errorf("fetching %s: %w", repo, terr)
			}
			if tok != "" {
				auth = &githttp.BasicAuth{Username: "x-access-token", Password: tok}
			}
		}
		err = r.FetchContext(ctx, &git.FetchOptions{
			RemoteName: "origin", Auth: auth, Tags: git.NoTags, Force: true, Prune: true,
			RefSpecs: []config.RefSpec{
				"+refs/heads/*:refs/remotes/origin/*",
				"+refs/pull/*/head:refs/remotes/origin/pull/*",
			},
		})
		if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
			err = nil
			break
		}
		if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
			errors.Is(err, transport.ErrRepositoryNotFound) || ctx.Err() != nil || attempt == c.tries {
			break
		}
		wait := c.wait << (attempt - 1)
		c.log.Warn("fetching failed; retrying", "repo", repo, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	if err != nil {
		return fmt.Errorf("fetching %s from %s: %w", repo, c.gitURL, err)
	}
	if m := missing(); len(m) > 0 {
		return fmt.Errorf("fetching %s: commit %s is on no branch or pull request of the repository", repo, strings.Join(m, ", "))
	}
	return nil
}
