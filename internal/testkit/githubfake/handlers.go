package githubfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (f *Fake) handle(c *call) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.route.OperationID == "teams/get-membership-for-user-in-org" {
		return f.teamMembership(c)
	}
	full := c.params["owner"] + "/" + c.params["repo"]
	rp, ok := f.repos[full]
	if !ok {
		return http.StatusNotFound, apiError("Not Found")
	}
	switch c.route.OperationID {
	case "issues/list-comments":
		n, _ := strconv.Atoi(c.params["issue_number"])
		if !f.issueExists(rp, n) {
			return http.StatusNotFound, apiError("Not Found")
		}
		var all []*Comment
		for _, cm := range rp.comments {
			if cm.Issue == n {
				all = append(all, cm)
			}
		}
		out := []map[string]any{}
		for _, cm := range all {
			out = append(out, f.commentJSON(rp, cm))
		}
		return http.StatusOK, out
	case "issues/create-comment":
		n, _ := strconv.Atoi(c.params["issue_number"])
		if !f.issueExists(rp, n) {
			return http.StatusNotFound, apiError("Not Found")
		}
		f.nextID++
		now := f.now()
		cm := &Comment{ID: f.nextID, Issue: n, User: "github-actions[bot]", Body: c.body["body"].(string), Created: now, Updated: now}
		rp.comments = append(rp.comments, cm)
		return http.StatusCreated, f.commentJSON(rp, cm)
	case "issues/update-comment":
		id, _ := strconv.ParseInt(c.params["comment_id"], 10, 64)
		i := slices.IndexFunc(rp.comments, func(cm *Comment) bool { return cm.ID == id })
		if i < 0 {
			// The description documents no 404 here, and GitHub answers 404;
			// the fake answers 422 so as to stay inside the description.
			return http.StatusUnprocessableEntity, apiError("comment not found")
		}
		cm := rp.comments[i]
		cm.Body, cm.Updated = c.body["body"].(string), f.now()
		cm.Edits++
		return http.StatusOK, f.commentJSON(rp, cm)
	case "reactions/create-for-issue-comment":
		id, _ := strconv.ParseInt(c.params["comment_id"], 10, 64)
		if !slices.ContainsFunc(rp.comments, func(cm *Comment) bool { return cm.ID == id }) {
			return http.StatusUnprocessableEntity, apiError("comment not found")
		}
		content := c.body["content"].(string)
		re := Reaction{User: "github-actions[bot]", Content: content}
		code := http.StatusCreated
		if slices.Contains(rp.reactions[id], re) {
			code = http.StatusOK // GitHub: the reaction already exists
		} else {
			rp.reactions[id] = append(rp.reactions[id], re)
		}
		f.nextID++
		return code, map[string]any{"id": f.nextID, "node_id": nodeID("REA", f.nextID), "user": userJSON(re.User),
			"content": content, "created_at": f.now().UTC().Format(time.RFC3339)}
	case "repos/create-commit-status":
		sha := c.params["sha"]
		st := Status{State: str(c.body["state"]), Context: str(c.body["context"]), Description: str(c.body["description"]), TargetURL: str(c.body["target_url"])}
		if st.Context == "" {
			st.Context = "default"
		}
		rp.statuses[sha] = append(rp.statuses[sha], st)
		f.nextID++
		now := f.now().UTC().Format(time.RFC3339)
		return http.StatusCreated, map[string]any{
			"url": f.srv.URL + "/repos/" + full + "/statuses/" + sha, "avatar_url": nil, "id": f.nextID,
			"node_id": nodeID("SC", f.nextID), "state": st.State, "description": nilIfEmpty(st.Description),
			"target_url": nilIfEmpty(st.TargetURL), "context": st.Context, "created_at": now, "updated_at": now,
			"creator": userJSON("github-actions[bot]"),
		}
	case "repos/get-collaborator-permission-level":
		u := c.params["username"]
		role, ok := rp.roles[u]
		if !ok {
			return http.StatusNotFound, apiError(u + " is not a user")
		}
		legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
		if legacy == "" {
			legacy = "none"
		}
		return http.StatusOK, map[string]any{"permission": legacy, "role_name": role, "user": userJSON(u)}
	case "pulls/get":
		n, _ := strconv.Atoi(c.params["pull_number"])
		pr, ok := rp.pulls[n]
		if !ok {
			return http.StatusNotFound, apiError("Not Found")
		}
		return http.StatusOK, f.pullJSON(rp, pr, true)
	case "repos/list-pull-requests-associated-with-commit":
		sha := c.params["commit_sha"]
		out := []map[string]any{}
		var nums []int
		for n, pr := range rp.pulls {
			if pr.HeadSHA == sha || pr.MergeCommitSHA == sha || slices.Contains(pr.Commits, sha) {
				nums = append(nums, n)
			}
		}
		slices.Sort(nums)
		for _, n := range nums {
			out = append(out, f.pullJSON(rp, rp.pulls[n], false))
		}
		return http.StatusOK, out
	}
	return http.StatusInternalServerError, apiError("githubfake has no handler for " + c.route.OperationID)
}

func (f *Fake) issueExists(rp *repo, n int) bool {
	// Every pull request is an issue; the fake has no plain issues beyond
	// those that comments were added to by the test.
	if _, ok := rp.pulls[n]; ok {
		return true
	}
	return slices.ContainsFunc(rp.comments, func(c *Comment) bool { return c.Issue == n })
}

func atoiOr(q map[string][]string, k string, def int) int {
	if v, ok := q[k]; ok && len(v) > 0 {
		if n, err := strconv.Atoi(v[0]); err == nil && n > 0 {
			return n
		}
	}
	return def
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nodeID(kind string, id int64) string { return fmt.Sprintf("%s_kw%d", kind, id) }

func userJSON(login string) map[string]any {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := "https://api.github.com/users/" + login
	id := int64(0)
	for _, r := range login {
		id = id*31 + int64(r)
	}
	if id < 0 {
		id = -id
	}
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U", id), "avatar_url": "https://avatars.githubusercontent.com/u/1",
		"gravatar_id": "", "url": u, "html_url": "https://github.com/" + login, "followers_url": u + "/followers",
		"following_url": u + "/following{/other_user}", "gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs", "repos_url": u + "/repos",
		"events_url": u + "/events{/privacy}", "received_events_url": u + "/received_events", "type": typ, "site_admin": false,
	}
}

func (f *Fake) commentJSON(rp *repo, c *Comment) map[string]any {
	full := rp.owner + "/" + rp.name
	return map[string]any{
		"id": c.ID, "node_id": nodeID("IC", c.ID), "body": c.Body, "user": userJSON(c.User),
		"url":        f.srv.URL + "/repos/" + full + "/issues/comments/" + strconv.FormatInt(c.ID, 10),
		"html_url":   fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", full, c.Issue, c.ID),
		"issue_url":  fmt.Sprintf("%s/repos/%s/issues/%d", f.srv.URL, full, c.Issue),
		"created_at": c.Created.UTC().Format(time.RFC3339), "updated_at": c.Updated.UTC().Format(time.RFC3339),
		"author_association": rp.association(c.User, "NONE"),
	}
}

func (f *Fake) pullJSON(rp *repo, pr *PullRequest, full bool) map[string]any {
	name := rp.owner + "/" + rp.name
	api := f.srv.URL + "/repos/" + name
	ref := func(sha, r, repoName string) map[string]any {
		owner, short, _ := strings.Cut(repoName, "/")
		return map[string]any{"label": owner + ":" + r, "ref": r, "sha": sha, "user": userJSON(owner),
			"repo": map[string]any{"full_name": repoName, "name": short, "owner": userJSON(owner), "id": 1, "node_id": "R_1",
				"private": false, "html_url": "https://github.com/" + repoName}}
	}
	now := f.now().UTC().Format(time.RFC3339)
	var mergedAt, mergedBy, closedAt any
	if pr.Merged {
		mergedAt, closedAt = now, now
		if pr.MergedBy != "" {
			mergedBy = userJSON(pr.MergedBy)
		}
	}
	n := strconv.Itoa(pr.Number)
	out := map[string]any{
		"url": api + "/pulls/" + n, "id": pr.Number + 100000, "node_id": nodeID("PR", int64(pr.Number)),
		"html_url": "https://github.com/" + name + "/pull/" + n, "diff_url": "https://github.com/" + name + "/pull/" + n + ".diff",
		"patch_url": "https://github.com/" + name + "/pull/" + n + ".patch", "issue_url": api + "/issues/" + n,
		"commits_url": api + "/pulls/" + n + "/commits", "review_comments_url": api + "/pulls/" + n + "/comments",
		"review_comment_url": api + "/pulls/comments{/number}", "comments_url": api + "/issues/" + n + "/comments",
		"statuses_url": api + "/statuses/" + pr.HeadSHA, "number": pr.Number, "state": pr.State, "locked": false,
		"title": pr.Title, "user": userJSON(pr.User), "body": nil, "labels": []any{}, "milestone": nil,
		"created_at": now, "updated_at": now, "closed_at": closedAt, "merged_at": mergedAt,
		"merge_commit_sha": nilIfEmpty(pr.MergeCommitSHA), "assignee": nil,
		"head": ref(pr.HeadSHA, pr.HeadRef, pr.HeadRepo), "base": ref(pr.BaseSHA, pr.BaseRef, name),
		"_links": map[string]any{"self": map[string]any{"href": api + "/pulls/" + n}}, "author_association": rp.association(pr.User, "CONTRIBUTOR"),
		"auto_merge": nil,
	}
	if full {
		for k, v := range map[string]any{"merged": pr.Merged, "mergeable": nil, "mergeable_state": "unknown", "merged_by": mergedBy,
			"comments": 0, "review_comments": 0, "maintainer_can_modify": false, "commits": 1, "additions": 1,
			"deletions": 0, "changed_files": 1} {
			out[k] = v
		}
	}
	return out
}

// teamMembership answers GET /orgs/{org}/teams/{team_slug}/memberships/{username}
// as GitHub does: 200 with state "active" for a member, 404 otherwise.
func (f *Fake) teamMembership(c *call) (int, any) {
	key := strings.ToLower(c.params["org"] + "/" + c.params["team_slug"])
	u := c.params["username"]
	if !f.teams[key][strings.ToLower(u)] {
		return http.StatusNotFound, apiError("Not Found")
	}
	return http.StatusOK, map[string]any{
		"url":   f.srv.URL + "/organizations/1/team/1/memberships/" + u,
		"role":  "member",
		"state": "active",
	}
}
