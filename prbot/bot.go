package prbot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	git "github.com/go-git/go-git/v5"
	gogithub "github.com/google/go-github/v60/github"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/github"
)

// GitHub is what the bot asks of GitHub; *github.Client implements it.
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

// Repo names a repository on GitHub.
type Repo struct {
	Owner, Name string
	// CloneURL is the repository's clone address from the payload.
	CloneURL string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// Workspace gives the bot a checkout of a repository at a commit. The
// Action's is the directory actions/checkout filled (it only checks that
// the commit is the one checked out); the server's fetches into a cache.
type Workspace interface {
	// Checkout returns a directory holding repo checked out at sha, with
	// history enough to reach base ("" = no base needed).
	Checkout(ctx context.Context, repo Repo, sha, base string) (string, error)
}

// Reporter is how an entry point shows what the bot did, beyond the PR
// comment and the commit status every entry point gets: the Action writes
// step outputs, the job summary and annotations; the server logs.
type Reporter interface {
	Output(name, value string)
	Summary(markdown string)
	Notice(msg string)
	Warning(msg string)
	// Error shows an error to the user (the Action annotates validation
	// errors on their file and line).
	Error(err error)
}

// Event is one GitHub event to handle.
type Event struct {
	Name     string // pull_request, issue_comment, push, ...
	Delivery string // X-GitHub-Delivery, for logs
	Payload  []byte // the JSON payload
	// Head is the PR head a comment command is pinned to: the commit the
	// Action's workflow checked out for it, or the head the server saw
	// when the delivery arrived. A command made against one head never
	// acts on another; "" pins to the PR's head when the event is handled.
	Head string
	// Queued says the event waited in the server's queue and ShowQueued
	// put a line about it in the sticky comment, to be cleared now.
	Queued bool
}

// Bot handles GitHub events with runway's one pipeline (flow): the PR
// pipeline on pull requests, `/runway` commands on comments (parsed by
// ParseCommand, authorized against GitHub and the platform policy), and
// merge promotion on pushes to the default branch. The Action and the
// webhook server differ only in the Workspace and Reporter they give it.
type Bot struct {
	Project   *flow.Project
	GitHub    GitHub
	Workspace Workspace
	Report    Reporter // nil = the log only
	// Domain is where PRs register ("" = the platform's first domain).
	Domain string
	// Run is a workflow or launch plan to run after registering
	// ("workflow/train", "launchplan/nightly"), with RunInputs.
	Run       string
	RunInputs []KV
	// RunURL links the comment and the status to the run that made them.
	RunURL string
	Log    *slog.Logger
}

// StatusContext is the name of runway's commit status.
const StatusContext = "runway"

// Events are the event names the bot acts on; every other event is
// acknowledged and ignored.
var Events = []string{"pull_request", "issue_comment", "push"}

// Handles says whether the bot acts on events named name.
func Handles(name string) bool {
	for _, e := range Events {
		if e == name {
			return true
		}
	}
	return false
}

// Handle handles one event. The event name is checked before the payload
// is parsed, so an event runway does not handle is a notice, never an
// error.
func (b *Bot) Handle(ctx context.Context, ev Event) error {
	if !Handles(ev.Name) {
		b.report().Notice(fmt.Sprintf("runway acts on %s events, not %q: nothing to do", strings.Join(Events, ", "), ev.Name))
		return nil
	}
	parsed, err := gogithub.ParseWebHook(ev.Name, ev.Payload)
	if err != nil {
		return fmt.Errorf("parsing the %q event payload: %w", ev.Name, err)
	}
	r := &run{Bot: b, ev: ev}
	if r.Domain == "" {
		r.Domain = b.Project.Platform.Domains[0].Name
	}
	switch e := parsed.(type) {
	case *gogithub.PullRequestEvent:
		r.repoFrom(e.GetRepo())
		return r.pullRequest(ctx, e)
	case *gogithub.IssueCommentEvent:
		r.repoFrom(e.GetRepo())
		return r.issueComment(ctx, e)
	case *gogithub.PushEvent:
		r.repo = Repo{Owner: e.GetRepo().GetOwner().GetLogin(), Name: e.GetRepo().GetName(), CloneURL: e.GetRepo().GetCloneURL()}
		if r.repo.Owner == "" {
			r.repo.Owner = e.GetRepo().GetOwner().GetName()
		}
		return r.push(ctx, e)
	}
	return fmt.Errorf("the %q payload is not a %s event", ev.Name, ev.Name)
}

func (b *Bot) report() Reporter {
	if b.Report != nil {
		return b.Report
	}
	return logReporter{orDiscard(b.Log)}
}

// run is one event's handling.
type run struct {
	*Bot
	ev   Event
	repo Repo
}

func (r *run) repoFrom(repo *gogithub.Repository) {
	r.repo = Repo{Owner: repo.GetOwner().GetLogin(), Name: repo.GetName(), CloneURL: repo.GetCloneURL()}
}

func (r *run) setStatus(ctx context.Context, sha, state, desc string) {
	if err := r.GitHub.SetStatus(ctx, r.repo.Owner, r.repo.Name, sha, github.Status{State: state, Context: StatusContext, Description: desc, TargetURL: r.RunURL}); err != nil {
		r.report().Warning(fmt.Sprintf("setting the runway commit status: %s", err))
	}
}

func (r *run) react(ctx context.Context, id int64, content string) {
	if err := r.GitHub.React(ctx, r.repo.Owner, r.repo.Name, id, content); err != nil {
		r.report().Warning(fmt.Sprintf("reacting to comment %d: %s", id, err))
	}
}

// upsertSticky edits runway's sticky comment on the PR, or posts it.
func (r *run) upsertSticky(ctx context.Context, number int, body string) error {
	comments, err := r.GitHub.Comments(ctx, r.repo.Owner, r.repo.Name, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.HasPrefix(c.Body, StickyMarker) && trustedAuthor(c) {
			_, err := r.GitHub.EditComment(ctx, r.repo.Owner, r.repo.Name, c.ID, body)
			return err
		}
	}
	_, err = r.GitHub.CreateComment(ctx, r.repo.Owner, r.repo.Name, number, body)
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

// Checkout is the Action's Workspace: the directory actions/checkout
// filled. It checks out nothing; it refuses a commit that is not the one
// checked out, saying how to check it out.
type Checkout struct{ Dir string }

// Checkout implements Workspace.
func (c Checkout) Checkout(_ context.Context, _ Repo, sha, _ string) (string, error) {
	at, err := c.Head()
	if err != nil {
		return "", err
	}
	if at != sha {
		return "", fmt.Errorf("the checkout is at %s but runway needs %s: check out that commit with its history "+
			"(actions/checkout with ref: the PR head or pushed SHA, and fetch-depth: 0)", at, sha)
	}
	return c.Dir, nil
}

// Head is the commit the checkout is at.
func (c Checkout) Head() (string, error) {
	g, err := git.PlainOpenWithOptions(c.Dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "", fmt.Errorf("opening the checkout %s: %w (add actions/checkout before runway)", c.Dir, err)
	}
	h, err := g.Head()
	if err != nil {
		return "", fmt.Errorf("reading HEAD of the checkout %s: %w", c.Dir, err)
	}
	return h.Hash().String(), nil
}

// logReporter reports to a logger (the server).
type logReporter struct{ log *slog.Logger }

func (l logReporter) Output(name, value string) { l.log.Debug("output", "name", name, "value", value) }
func (l logReporter) Summary(string)            {}
func (l logReporter) Notice(msg string)         { l.log.Info(msg) }
func (l logReporter) Warning(msg string)        { l.log.Warn(msg) }
func (l logReporter) Error(err error)           { l.log.Error(err.Error()) }

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
