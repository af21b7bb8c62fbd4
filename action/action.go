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

	"github.com/sethvargo/go-githubactions"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/version"
	"github.com/runway-ci/runway/prbot"
)

// GitHub is what the Action asks of GitHub (prbot.GitHub);
// *github.Client implements it.
type GitHub = prbot.GitHub

// StatusContext is the name of runway's commit status.
const StatusContext = prbot.StatusContext

// Option configures Run.
type Option func(*options) error

type options struct {
	getenv  func(string) string
	stdout  io.Writer
	log     *slog.Logger
	gh      GitHub
	project *flow.Project
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

// WithProject replaces the project opened from the platform-config and
// store inputs.
func WithProject(p *flow.Project) Option {
	return func(o *options) error { o.project = p; return nil }
}

// Inputs are the action's inputs (action.yml).
type Inputs struct {
	PlatformConfig   string
	Store            string
	Domain           string
	Run              string
	RunInputs        []prbot.KV
	Token            string
	WorkingDirectory string
}

// runner holds one invocation's state.
type runner struct {
	a       *githubactions.Action
	getenv  func(string) string
	log     *slog.Logger
	gh      GitHub
	project *flow.Project
	in      Inputs
	dir     string // the checkout (working-directory), absolute
	runURL  string
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
	r := &runner{getenv: o.getenv, log: o.log, gh: o.gh, project: o.project}
	r.a = githubactions.New(githubactions.WithGetenv(o.getenv), githubactions.WithWriter(o.stdout))
	name := r.getenv("GITHUB_EVENT_NAME")
	// The event name first: an event runway does not handle is a notice,
	// whatever its payload.
	if !prbot.Handles(name) {
		r.a.Noticef("runway acts on %s events, not %q: nothing to do", strings.Join(prbot.Events, ", "), name)
		return nil
	}
	if err := r.setup(); err != nil {
		r.a.Errorf("%s", err)
		return err
	}
	payload, err := os.ReadFile(r.getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return fmt.Errorf("reading the event payload (GITHUB_EVENT_PATH): %w", err)
	}
	bot := &prbot.Bot{Project: r.project, GitHub: r.gh, Workspace: prbot.Checkout{Dir: r.dir}, Report: reporter{r},
		Domain: r.in.Domain, Run: r.in.Run, RunInputs: r.in.RunInputs, RunURL: r.runURL, Log: r.log}
	ev := prbot.Event{Name: name, Payload: payload}
	if name == "issue_comment" {
		// A comment's command is pinned to the commit the workflow checked
		// out for it (refs/pull/N/head when the comment was made).
		if ev.Head, err = (prbot.Checkout{Dir: r.dir}).Head(); err != nil {
			r.a.Errorf("%s", err)
			return err
		}
	}
	return bot.Handle(ctx, ev)
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
	kvs, err := parseRunInputs(r.a.GetInput("run-inputs"))
	if err != nil {
		return err
	}
	in.RunInputs = kvs
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
	full := r.getenv("GITHUB_REPOSITORY")
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
	if r.project == nil {
		storeSpec := in.Store
		if s, ok := strings.CutPrefix(storeSpec, "file://"); ok && !filepath.IsAbs(s) {
			storeSpec = "file://" + abs(s)
		}
		p, err := flow.Open(flow.OpenRequest{Platform: plat, Store: storeSpec, Getenv: r.getenv, Log: r.log, RunwayVersion: version.String()})
		if err != nil {
			return err
		}
		r.project = p
	}
	return nil
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

// reporter is the Action's prbot.Reporter: step outputs, the job
// summary, and annotations.
type reporter struct{ r *runner }

func (p reporter) Output(name, value string) { p.r.a.SetOutput(name, value) }
func (p reporter) Summary(md string)         { p.r.a.AddStepSummary(md) }
func (p reporter) Notice(msg string)         { p.r.a.Noticef("%s", msg) }
func (p reporter) Warning(msg string)        { p.r.a.Warningf("%s", msg) }
func (p reporter) Error(err error)           { p.r.annotate(err) }

// parseRunInputs reads the run-inputs input: one NAME=VALUE per line (or
// separated by spaces), as `/runway run` takes them.
func parseRunInputs(text string) ([]prbot.KV, error) {
	var out []prbot.KV
	for _, f := range strings.Fields(text) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("the run-inputs input: %q is not NAME=VALUE (one per line, such as rows=5000)", f)
		}
		out = append(out, prbot.KV{Key: k, Value: v})
	}
	return out, nil
}
