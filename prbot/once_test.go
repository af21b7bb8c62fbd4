package prbot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/store/layout"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// TestReplayedDeliveryRepliesOnce: the server replays a delivery whose
// work a crash cut short; if the reply was already posted, the replay
// posts nothing (the reply names its delivery in a hidden marker). Another
// delivery of the same command is answered again.
func TestReplayedDeliveryRepliesOnce(t *testing.T) {
	ctx := context.Background()
	f := githubfake.New(t)
	f.AddToken("ghs_write", true)
	f.AddRepo("o/r")
	f.SetPullRequest("o/r", githubfake.PullRequest{Number: 7, User: "alice", HeadSHA: strings.Repeat("a", 40), HeadRef: "x", BaseSHA: strings.Repeat("b", 40), BaseRef: "main"})
	gh, err := github.New(github.WithBaseURL(f.URL()), github.WithToken("ghs_write"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := layout.New(t.TempDir(), layout.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	bot := &Bot{Project: flow.NewProject(st, nil, nil), GitHub: gh}
	help := func(delivery string) Event {
		id := f.AddComment("o/r", 7, "alice", "/runway help")
		b, _ := json.Marshal(map[string]any{
			"action":     "created",
			"issue":      map[string]any{"number": 7, "pull_request": map[string]any{"url": "https://api.github.com/repos/o/r/pulls/7"}},
			"comment":    map[string]any{"id": id, "body": "/runway help", "user": map[string]any{"login": "alice", "type": "User"}},
			"repository": map[string]any{"name": "r", "full_name": "o/r", "owner": map[string]any{"login": "o"}},
		})
		return Event{Name: "issue_comment", Delivery: delivery, Payload: b}
	}
	replies := func() int {
		n := 0
		for _, c := range f.Comments("o/r", 7) {
			if strings.Contains(c.Body, "runway understands these commands") {
				n++
			}
		}
		return n
	}
	ev := help("72d3162e-cc78-11e3-81ab-4c9367dc0958")
	for range 2 { // the delivery, and its replay after a crash
		if err := bot.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := replies(); n != 1 {
		t.Fatalf("%d replies to one delivery handled twice, want 1", n)
	}
	if err := bot.Handle(ctx, help("another-delivery")); err != nil {
		t.Fatal(err)
	}
	if n := replies(); n != 2 {
		t.Fatalf("%d replies after a second delivery, want 2", n)
	}
	if m := deliveryMarker("x --> <script>"); strings.Count(m, "-->") != 1 || strings.Contains(m, "<script") {
		t.Errorf("a hostile delivery id shapes the marker: %q", m)
	}
}
