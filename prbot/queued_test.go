package prbot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

func TestWithQueueBlock(t *testing.T) {
	block := queueStart + "\nwaits.\n" + queueEnd + "\n"
	sticky := StickyMarker + "\n### runway registered\n"
	with := withQueueBlock(sticky, block)
	if with != StickyMarker+"\n"+block+"### runway registered\n" {
		t.Fatalf("inserted: %q", with)
	}
	if again := withQueueBlock(with, strings.Replace(block, "waits", "still waits", 1)); strings.Count(again, queueStart) != 1 || !strings.Contains(again, "still waits") {
		t.Fatalf("replaced: %q", again)
	}
	if back := withQueueBlock(with, ""); back != sticky {
		t.Fatalf("removed: %q, want %q", back, sticky)
	}
	if same := withQueueBlock(sticky, ""); same != sticky {
		t.Fatalf("nothing to remove: %q", same)
	}
}

// TestShowQueued: a waiting command gets a line in the PR's sticky comment
// (created if there is none, edited in place after), naming what holds the
// lane; the line goes when the command starts; a comment that is no
// command gets nothing.
func TestShowQueued(t *testing.T) {
	ctx := context.Background()
	f := githubfake.New(t)
	f.AddToken("ghs_write", true)
	f.AddRepo("o/r")
	f.SetPullRequest("o/r", githubfake.PullRequest{Number: 7, User: "alice", HeadSHA: strings.Repeat("a", 40), HeadRef: "x", BaseSHA: strings.Repeat("b", 40), BaseRef: "main"})
	gh, err := github.New(github.WithBaseURL(f.URL()), github.WithToken("ghs_write"))
	if err != nil {
		t.Fatal(err)
	}
	bot := &Bot{GitHub: gh}
	comment := func(body string) Event {
		b, _ := json.Marshal(map[string]any{
			"action":     "created",
			"issue":      map[string]any{"number": 7, "pull_request": map[string]any{"url": "https://api.github.com/repos/o/r/pulls/7"}},
			"comment":    map[string]any{"id": 1, "body": body, "user": map[string]any{"login": "<b>alice</b>", "type": "User"}},
			"repository": map[string]any{"name": "r", "full_name": "o/r", "owner": map[string]any{"login": "o"}},
		})
		return Event{Name: "issue_comment", Payload: b}
	}
	ev := comment("/runway register")
	if err := bot.ShowQueued(ctx, ev, 2, "delivery d1 (pull_request.synchronize on o/r)"); err != nil {
		t.Fatal(err)
	}
	if err := bot.ShowQueued(ctx, ev, 1, "delivery d2 (issue_comment.created on o/r, /runway plan)"); err != nil {
		t.Fatal(err)
	}
	cs := f.Comments("o/r", 7)
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Body, StickyMarker) {
		t.Fatalf("comments %+v, want one sticky comment", cs)
	}
	body := cs[0].Body
	for _, want := range []string{"<code>/runway register</code>", "1 ahead of it", "delivery d2", "holds it now"} {
		if !strings.Contains(body, want) {
			t.Errorf("the queue line lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<b>") || strings.Contains(body, "2 ahead") {
		t.Errorf("the queue line is unescaped or stale:\n%s", body)
	}
	r := &run{Bot: bot, ev: Event{Queued: true}, repo: Repo{Owner: "o", Name: "r"}}
	r.clearQueued(ctx, 7)
	if cs := f.Comments("o/r", 7); len(cs) != 1 || strings.Contains(cs[0].Body, queueStart) {
		t.Fatalf("the queue line stayed after the command started: %+v", cs)
	}
	if err := bot.ShowQueued(ctx, comment("thanks, looks good"), 1, "x"); err != nil {
		t.Fatal(err)
	}
	if cs := f.Comments("o/r", 7); strings.Contains(cs[0].Body, queueStart) {
		t.Fatal("a comment that is no command was shown as queued")
	}
}
