package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	gogithub "github.com/google/go-github/v60/github"
)

// ErrNotFound is returned (wrapped) when GitHub answers 404.
var ErrNotFound = errors.New("not found on GitHub")

// Comment is an issue or pull request comment.
type Comment struct {
	ID     int64
	Body   string
	User   string
	URL    string // html_url
	Bot    bool   // the author is a bot account (GitHub Actions, an App)
	Author string // author_association: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE ...
}

// PullRequest is what runway needs to know about a pull request.
type PullRequest struct {
	Number         int
	State          string // open, closed
	Merged         bool
	MergeCommitSHA string
	HeadSHA        string
	HeadRef        string
	HeadRepo       string // owner/name; "" when the fork was deleted
	BaseRef        string
	BaseSHA        string
	BaseRepo       string
	Title          string
	User           string
	URL            string // html_url
}

// Fork reports whether the pull request comes from another repository.
func (p *PullRequest) Fork() bool { return p.HeadRepo != p.BaseRepo }

// Status states of a commit status.
const (
	StatePending = "pending"
	StateSuccess = "success"
	StateFailure = "failure"
	StateError   = "error"
)

// Status is a commit status.
type Status struct {
	State       string
	Context     string
	Description string
	TargetURL   string
}

func wrap(what string, resp *gogithub.Response, err error) error {
	if err == nil {
		return nil
	}
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func toComment(c *gogithub.IssueComment) Comment {
	out := Comment{ID: c.GetID(), Body: c.GetBody(), URL: c.GetHTMLURL(), Author: c.GetAuthorAssociation()}
	if u := c.GetUser(); u != nil {
		out.User = u.GetLogin()
		out.Bot = u.GetType() == "Bot"
	}
	return out
}

func toPR(p *gogithub.PullRequest) *PullRequest {
	return &PullRequest{
		Number: p.GetNumber(), State: p.GetState(), Merged: p.GetMerged() || p.MergedAt != nil,
		MergeCommitSHA: p.GetMergeCommitSHA(),
		HeadSHA:        p.GetHead().GetSHA(), HeadRef: p.GetHead().GetRef(), HeadRepo: p.GetHead().GetRepo().GetFullName(),
		BaseSHA: p.GetBase().GetSHA(), BaseRef: p.GetBase().GetRef(), BaseRepo: p.GetBase().GetRepo().GetFullName(),
		Title: p.GetTitle(), User: p.GetUser().GetLogin(), URL: p.GetHTMLURL(),
	}
}

// Comments lists every comment of an issue or pull request, oldest first.
func (c *Client) Comments(ctx context.Context, owner, repo string, number int) ([]Comment, error) {
	var out []Comment
	opts := &gogithub.IssueListCommentsOptions{ListOptions: gogithub.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.REST.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, wrap(fmt.Sprintf("listing comments of %s/%s#%d", owner, repo, number), resp, err)
		}
		for _, pc := range page {
			out = append(out, toComment(pc))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateComment posts a comment on an issue or pull request.
func (c *Client) CreateComment(ctx context.Context, owner, repo string, number int, body string) (Comment, error) {
	pc, resp, err := c.REST.Issues.CreateComment(ctx, owner, repo, number, &gogithub.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, wrap(fmt.Sprintf("commenting on %s/%s#%d", owner, repo, number), resp, err)
	}
	return toComment(pc), nil
}

// EditComment replaces the body of a comment.
func (c *Client) EditComment(ctx context.Context, owner, repo string, id int64, body string) (Comment, error) {
	pc, resp, err := c.REST.Issues.EditComment(ctx, owner, repo, id, &gogithub.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, wrap(fmt.Sprintf("editing comment %d of %s/%s", id, owner, repo), resp, err)
	}
	return toComment(pc), nil
}

// React adds a reaction ("+1", "-1", "laugh", "confused", "heart",
// "hooray", "rocket", "eyes") to an issue or pull request comment. Adding
// a reaction that exists is a no-op on GitHub's side.
func (c *Client) React(ctx context.Context, owner, repo string, commentID int64, content string) error {
	_, resp, err := c.REST.Reactions.CreateIssueCommentReaction(ctx, owner, repo, commentID, content)
	return wrap(fmt.Sprintf("reacting %q to comment %d of %s/%s", content, commentID, owner, repo), resp, err)
}

// SetStatus sets a commit status.
func (c *Client) SetStatus(ctx context.Context, owner, repo, sha string, s Status) error {
	st := &gogithub.RepoStatus{State: &s.State, Context: &s.Context}
	if s.Description != "" {
		d := s.Description
		if len(d) > 140 { // GitHub refuses longer descriptions
			d = d[:137] + "..."
		}
		st.Description = &d
	}
	if s.TargetURL != "" {
		st.TargetURL = &s.TargetURL
	}
	_, resp, err := c.REST.Repositories.CreateStatus(ctx, owner, repo, sha, st)
	return wrap(fmt.Sprintf("setting status %q on %s/%s@%s", s.Context, owner, repo, sha), resp, err)
}

// PullRequest returns a pull request. A number that is an issue, not a
// pull request, gives ErrNotFound.
func (c *Client) PullRequest(ctx context.Context, owner, repo string, number int) (*PullRequest, error) {
	p, resp, err := c.REST.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return nil, wrap(fmt.Sprintf("reading pull request %s/%s#%d", owner, repo, number), resp, err)
	}
	return toPR(p), nil
}

// PullRequestsForCommit lists the pull requests associated with a commit:
// for a merge commit on the default branch, the pull request it merged.
func (c *Client) PullRequestsForCommit(ctx context.Context, owner, repo, sha string) ([]*PullRequest, error) {
	var out []*PullRequest
	opts := &gogithub.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.REST.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, opts)
		if err != nil {
			return nil, wrap(fmt.Sprintf("listing pull requests of commit %s in %s/%s", sha, owner, repo), resp, err)
		}
		for _, p := range page {
			out = append(out, toPR(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Permission returns a user's role on a repository: admin, maintain,
// write, triage, read or none. It reads role_name, which go-github v60 does
// not decode, because the legacy "permission" field folds maintain into
// write and triage into read.
func (c *Client) Permission(ctx context.Context, owner, repo, user string) (string, error) {
	what := fmt.Sprintf("reading %s's permission on %s/%s", user, owner, repo)
	req, err := c.REST.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", owner, repo, user), nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var body struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	resp, err := c.REST.Do(ctx, req, &body)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			// Not a collaborator (or the token cannot see them): no access.
			return "none", nil
		}
		return "", wrap(what, resp, err)
	}
	if body.RoleName != "" {
		return body.RoleName, nil
	}
	return body.Permission, nil
}
