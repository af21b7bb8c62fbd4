package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	gogithub "github.com/google/go-github/v60/github"
	"github.com/sethvargo/go-githubactions"

	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store/storeopen"
)

// GitHub is what the Action asks of GitHub; *github.Client implements it.
type GitHub interface {
	Comments(ctx context.Context, owner, repo string, number int) ([]github.Comment, error)
	CreateComment(ctx context.Context, owner, repo string, number int, body string) (github.Comment, error)
	EditComment(ctx context.Context, owner, repo string, id int64, body string) (github.Comment, error)
	React(ctx context.Context, owner, repo string, commentID int64, content string) error
	SetStatus(ctx context.Context, owner, repo, sha string, s github.Status) error
	PullRequest(ctx context.Context, owner, repo string, number int) (*github.PullRequest, error)
	PullRequestsForCommit(ctx context.Context, owner, repo, sha string) ([]*github.PullRequest, error)
	Permission(ctx context.Context, owner, repo, user string) (string, error)
}

// StatusContext is the name of runway's commit status.
const StatusContext = "runway"

// Option configures Run.
type Option func(*options) error

type options struct {
	getenv   func(string) string
	stdout   io.Writer
	log      *slog.Logger
	gh       GitHub
	pipeline Pipeline
}

// WithGetenv sets where inputs and the runner's variables are read
// (default os.Getenv).
func WithGetenv(f func(string) string) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("getenv must not be nil")
		}
		o.getenv = f
		return nil
	}
}

// WithStdout sets where workflow commands (annotations) are written.
func WithStdout(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("stdout must not be nil")
		}
		o.stdout = w
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithGitHub replaces the GitHub client built from the github-token input
// and GITHUB_API_URL.
func WithGitHub(gh GitHub) Option {
	return func(o *options) error { o.gh = gh; return nil }
}

// WithPipeline replaces the FlowPipeline built from the inputs.
func WithPipeline(p Pipeline) Option {
	return func(o *options) error { o.pipeline = p; return nil }
}

// Inputs are the action's inputs (action.yml).
type Inputs struct {
	PlatformConfig   string
	Store            string
	Domain           string
	Run              string
	Token            string
	WorkingDirectory string
}

// runner holds one invocation's state.
type runner struct {
	a        *githubactions.Action
	getenv   func(string) string
	log      *slog.Logger
	gh       GitHub
	pipeline Pipeline
	plat     *platform.Config
	in       Inputs
	dir      string // the checkout (working-directory), absolute
	owner    string
	repo     string
	runURL   string
}

// Run is the Action's entry point: it reads the inputs (INPUT_*), the
// event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH) and the runner's variables,
// handles the event, and reports through outputs (GITHUB_OUTPUT), the job
// summary (GITHUB_STEP_SUMMARY), annotations, PR comments and the `runway`
// commit status. It returns an error when the step should fail.
func Run(ctx context.Context, opts ...Option) error {
	o := &options{getenv: os.Getenv, stdout: os.Stdout, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return err
		}
	}
	r := &runner{getenv: o.getenv, log: o.log, gh: o.gh, pipeline: o.pipeline}
	r.a = githubactions.New(githubactions.WithGetenv(o.getenv), githubactions.WithWriter(o.stdout))
	if err := r.setup(); err != nil {
		r.a.Errorf("%s", err)
		return err
	}
	name := r.getenv("GITHUB_EVENT_NAME")
	payload, err := os.ReadFile(r.getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return fmt.Errorf("reading the event payload (GITHUB_EVENT_PATH): %w", err)
	}
	ev, err := gogithub.ParseWebHook(name, payload)
	if err != nil {
		return fmt.Errorf("parsing the %q event payload: %w", name, err)
	}
	switch ev := ev.(type) {
	case *gogithub.PullRequestEvent:
		return r.pullRequest(ctx, ev)
	case *gogithub.IssueCommentEvent:
		return r.issueComment(ctx, ev)
	case *gogithub.PushEvent:
		return r.push(ctx, ev)
	}
	return fmt.Errorf("runway's Action handles pull_request, issue_comment and push events, not %q", name)
}

func (r *runner) setup() error {
	in := Inputs{
		PlatformConfig:   r.a.GetInput("platform-config"),
		Store:            r.a.GetInput("store"),
		Domain:           r.a.GetInput("domain"),
		Run:              r.a.GetInput("run"),
		Token:            r.a.GetInput("github-token"),
		WorkingDirectory: r.a.GetInput("working-directory"),
	}
	if in.Token != "" {
		r.a.AddMask(in.Token)
	}
	if in.Domain == "" {
		in.Domain = "development"
	}
	ws := r.getenv("GITHUB_WORKSPACE")
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(ws, p)
	}
	r.dir = abs(in.WorkingDirectory)
	if r.dir == "" {
		r.dir = ws
	}
	if r.dir == "" {
		return errors.New("no checkout: set the working-directory input or run in a workflow (GITHUB_WORKSPACE)")
	}
	r.in = in
	plat, err := platform.Load(abs(in.PlatformConfig))
	if err != nil {
		return fmt.Errorf("the platform-config input: %w", err)
	}
	if _, ok := plat.Domain(in.Domain); !ok {
		return fmt.Errorf("the domain input %q is not a domain of the platform config (%s)", in.Domain, strings.Join(plat.DomainNames(), ", "))
	}
	r.plat = plat
	full := r.getenv("GITHUB_REPOSITORY")
	r.owner, r.repo, _ = strings.Cut(full, "/")
	if server, id := r.getenv("GITHUB_SERVER_URL"), r.getenv("GITHUB_RUN_ID"); server != "" && id != "" && full != "" {
		r.runURL = fmt.Sprintf("%s/%s/actions/runs/%s", server, full, id)
	}
	if r.gh == nil {
		c, err := github.New(github.WithBaseURL(r.getenv("GITHUB_API_URL")), github.WithToken(in.Token), github.WithLogger(r.log))
		if err != nil {
			return err
		}
		r.gh = c
	}
	if r.pipeline == nil {
		storeSpec := in.Store
		if storeSpec == "" {
			storeSpec = plat.Store
		}
		if s, ok := strings.CutPrefix(storeSpec, "file://"); ok && !filepath.IsAbs(s) {
			storeSpec = "file://" + abs(s)
		}
		maxAfter, err := time.ParseDuration(plat.Registry.MaxRetryAfter)
		if err != nil {
			return fmt.Errorf("platform config: registry.maxRetryAfter: %q is not a duration", plat.Registry.MaxRetryAfter)
		}
		st, err := storeopen.Open(storeSpec, storeopen.WithLogger(r.log), storeopen.WithGetenv(r.getenv),
			storeopen.WithRetryMax(plat.Registry.RetryMax), storeopen.WithParallelism(plat.Registry.Parallelism),
			storeopen.WithInsecure(plat.Registry.Insecure), storeopen.WithMaxRetryAfter(maxAfter))
		if err != nil {
			return fmt.Errorf("opening the store %q: %w", storeSpec, err)
		}
		r.pipeline = NewFlowPipeline(plat, st, r.log, "")
	}
	return nil
}

// repoFrom fills owner/repo from the payload when GITHUB_REPOSITORY is unset.
func (r *runner) repoFrom(repo *gogithub.Repository) {
	if r.owner == "" || r.repo == "" {
		r.owner, r.repo = repo.GetOwner().GetLogin(), repo.GetName()
	}
}

// checkoutHead returns the commit the checkout is at.
func (r *runner) checkoutHead() (string, error) {
	g, err := git.PlainOpenWithOptions(r.dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("opening the checkout %s: %w (add actions/checkout before runway)", r.dir, err)
	}
	h, err := g.Head()
	if err != nil {
		return "", fmt.Errorf("reading HEAD of the checkout %s: %w", r.dir, err)
	}
	return h.Hash().String(), nil
}

// annotate turns validation errors into file annotations, and any other
// error into one error annotation.
func (r *runner) annotate(err error) {
	if err == nil {
		return
	}
	var se spec.Errors
	if !errors.As(err, &se) {
		r.a.Errorf("%s", err)
		return
	}
	for _, fe := range se {
		fields := map[string]string{"file": r.annotationPath(fe.File)}
		if fe.Line > 0 {
			fields["line"] = fmt.Sprint(fe.Line)
		}
		title := "runway.yaml"
		if fe.Entity != "" {
			title += ": " + fe.Entity
		}
		if fe.Field != "" {
			title += ": " + fe.Field
		}
		fields["title"] = title
		r.a.WithFieldsMap(fields).Errorf("%s", fe.Msg)
	}
}

// annotationPath makes a spec file path relative to the repository root
// (GITHUB_WORKSPACE), which is what GitHub places annotations by.
func (r *runner) annotationPath(file string) string {
	ws := r.getenv("GITHUB_WORKSPACE")
	if !filepath.IsAbs(file) {
		file = filepath.Join(r.dir, file)
	}
	if ws != "" {
		if rel, err := filepath.Rel(ws, file); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	if rel, err := filepath.Rel(r.dir, file); err == nil {
		return filepath.ToSlash(rel)
	}
	return file
}

func (r *runner) setStatus(ctx context.Context, sha, state, desc string) {
	if err := r.gh.SetStatus(ctx, r.owner, r.repo, sha, github.Status{State: state, Context: StatusContext, Description: desc, TargetURL: r.runURL}); err != nil {
		r.a.Warningf("setting the runway commit status: %s", err)
	}
}

func (r *runner) react(ctx context.Context, id int64, content string) {
	if err := r.gh.React(ctx, r.owner, r.repo, id, content); err != nil {
		r.a.Warningf("reacting to comment %d: %s", id, err)
	}
}

// upsertSticky edits runway's sticky comment on the PR, or posts it.
func (r *runner) upsertSticky(ctx context.Context, number int, body string) error {
	comments, err := r.gh.Comments(ctx, r.owner, r.repo, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.HasPrefix(c.Body, stickyMarker) && trustedAuthor(c) {
			_, err := r.gh.EditComment(ctx, r.owner, r.repo, c.ID, body)
			return err
		}
	}
	_, err = r.gh.CreateComment(ctx, r.owner, r.repo, number, body)
	return err
}

// trustedAuthor: the sticky comment is runway's if a bot (GITHUB_TOKEN's
// github-actions[bot], an App) or someone with write access (a personal
// token) wrote it, never an outside commenter who pasted the marker.
func trustedAuthor(c github.Comment) bool {
	switch c.Author {
	case "OWNER", "COLLABORATOR":
		return true
	}
	return c.Bot
}
