package prbot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gogithub "github.com/google/go-github/v60/github"
)

// The queue block is a marked part of the sticky comment that says which
// command waits and what holds the pull request's lane. The server writes
// it when a command has to wait; it goes when the comment is rendered
// again (the PR pipeline) or the command starts (Event.Queued).
const (
	queueStart = "<!-- runway:queue -->"
	queueEnd   = "<!-- /runway:queue -->"
)

// ShowQueued tells the pull request that the /runway command of ev (an
// issue_comment) waits: ahead deliveries before it in the PR's lane, and
// holder is what holds the lane now (the delivery being worked on, or the
// replica holding the PR's lock). Anything that is not a command on a pull
// request is left alone.
func (b *Bot) ShowQueued(ctx context.Context, ev Event, ahead int, holder string) error {
	if ev.Name != "issue_comment" {
		return nil
	}
	parsed, err := gogithub.ParseWebHook(ev.Name, ev.Payload)
	if err != nil {
		return fmt.Errorf("parsing the %q event payload: %w", ev.Name, err)
	}
	e, ok := parsed.(*gogithub.IssueCommentEvent)
	if !ok || e.GetAction() != "created" || e.GetIssue().GetPullRequestLinks() == nil {
		return nil
	}
	cmd, perr := ParseCommand(e.GetComment().GetBody())
	if perr != nil {
		// Not a command, or one the handler will refuse with its own
		// answer: nothing waits that the PR should hear about.
		return nil //nolint:nilerr // a comment that is no command is not an error here
	}
	r := &run{Bot: b, ev: ev}
	r.repoFrom(e.GetRepo())
	line := fmt.Sprintf("⏳ %s by %s waits: %d ahead of it in this pull request's queue", code("/runway "+string(cmd.Verb)),
		code(e.GetComment().GetUser().GetLogin()), ahead)
	if holder != "" {
		line += "; " + md(holder) + " holds it now"
	}
	return r.editQueueBlock(ctx, e.GetIssue().GetNumber(), queueStart+"\n"+line+".\n"+queueEnd+"\n")
}

// editQueueBlock puts block (or, with "", nothing) where the sticky
// comment's queue block is, creating the sticky comment for a block.
func (r *run) editQueueBlock(ctx context.Context, number int, block string) error {
	comments, err := r.GitHub.Comments(ctx, r.repo.Owner, r.repo.Name, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if !strings.HasPrefix(c.Body, StickyMarker) || !trustedAuthor(c) {
			continue
		}
		body := withQueueBlock(c.Body, block)
		if body == c.Body {
			return nil
		}
		_, err := r.GitHub.EditComment(ctx, r.repo.Owner, r.repo.Name, c.ID, body)
		return err
	}
	if block == "" {
		return nil
	}
	_, err = r.GitHub.CreateComment(ctx, r.repo.Owner, r.repo.Name, number, StickyMarker+"\n"+block)
	return err
}

// withQueueBlock replaces the queue block of a sticky comment body (or
// inserts it after the marker line).
func withQueueBlock(body, block string) string {
	if i := strings.Index(body, queueStart); i >= 0 {
		if j := strings.Index(body[i:], queueEnd); j >= 0 {
			end := i + j + len(queueEnd)
			if end < len(body) && body[end] == '\n' {
				end++
			}
			return body[:i] + block + body[end:]
		}
	}
	if block == "" {
		return body
	}
	rest := strings.TrimPrefix(body, StickyMarker)
	rest = strings.TrimPrefix(rest, "\n")
	return StickyMarker + "\n" + block + rest
}

// clearQueued takes the queue block out of the sticky comment when the
// command that waited starts.
func (r *run) clearQueued(ctx context.Context, number int) {
	if !r.ev.Queued {
		return
	}
	if err := r.editQueueBlock(ctx, number, ""); err != nil && !errors.Is(err, context.Canceled) {
		r.report().Warning(fmt.Sprintf("clearing the queue line of the runway PR comment: %s", err))
	}
}
