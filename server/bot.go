package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/prbot"
)

// Bot is the Handler that gives deliveries to prbot, the same event
// handling the Action runs: the PR pipeline, the /runway commands with
// their parser, authorizer and policy, and merge promotion. The server
// adds what the Action gets from its runner: a GitHub client for the
// delivery's installation, and checkouts (Checkouts) instead of
// actions/checkout.
type Bot struct {
	Project *flow.Project
	// GitHub returns the client acting as an installation (with a token
	// setup, the one client whatever the installation).
	GitHub    func(installation int64) (prbot.GitHub, error)
	Checkouts *Checkouts
	// Domain is where pull requests register ("" = the first domain).
	Domain string
	Log    *slog.Logger
}

// Handle implements Handler.
func (b *Bot) Handle(ctx context.Context, d *Delivery) error {
	if b.Project == nil || b.GitHub == nil || b.Checkouts == nil {
		return errors.New("server.Bot needs a Project, GitHub and Checkouts")
	}
	gh, err := b.GitHub(d.Installation)
	if err != nil {
		return err
	}
	ws := &workspace{c: b.Checkouts, installation: d.Installation}
	defer ws.release()
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bot := &prbot.Bot{Project: b.Project, GitHub: gh, Workspace: ws, Domain: b.Domain,
		Log: log.With("delivery", d.ID, "event", d.Event, "repo", d.Repo)}
	return bot.Handle(ctx, prbot.Event{Name: d.Event, Delivery: d.ID, Payload: d.Payload, Head: d.Head, Queued: d.Queued})
}

// Queued implements QueueReporter: the PR's sticky comment says which
// command waits and what holds the lane.
func (b *Bot) Queued(ctx context.Context, d *Delivery, ahead int, holder string) error {
	gh, err := b.GitHub(d.Installation)
	if err != nil {
		return err
	}
	bot := &prbot.Bot{Project: b.Project, GitHub: gh, Log: b.Log}
	return bot.ShowQueued(ctx, prbot.Event{Name: d.Event, Delivery: d.ID, Payload: d.Payload}, ahead, holder)
}

// workspace is one delivery's prbot.Workspace: it holds every checkout it
// handed out until the delivery's work ends.
type workspace struct {
	c            *Checkouts
	installation int64
	mu           sync.Mutex
	releases     []func()
}

func (w *workspace) Checkout(ctx context.Context, repo prbot.Repo, sha, base string) (string, error) {
	commits := []string{sha}
	if base != "" {
		commits = append(commits, base)
	}
	dir, release, err := w.c.Checkout(ctx, repo.String(), w.installation, commits...)
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	w.releases = append(w.releases, release)
	w.mu.Unlock()
	return dir, nil
}

func (w *workspace) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.releases {
		r()
	}
	w.releases = nil
}
