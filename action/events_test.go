package action

import (
	"sort"
	"strings"
	"testing"
)

// TestEveryExampleEventIsHandledOrIgnored: the Action runs on every event a
// workflow can be triggered by. For each of GitHub's published example
// payloads of an event runway does not act on, the step succeeds with a
// notice naming the event; the payload is never parsed (go-github fails to
// parse some of them), so it cannot fail the step (issue 17 item 9).
func TestEveryExampleEventIsHandledOrIgnored(t *testing.T) {
	w, _ := newWorld(t)
	example(t, "ping", func(map[string]any) bool { return true }) // loads the corpus
	names := make([]string, 0, len(examples))
	for name := range examples {
		names = append(names, name)
	}
	sort.Strings(names)
	// What runway acts on, written out here rather than asked of prbot, so
	// that the test fails if the bot starts to claim other events.
	handled := map[string]bool{"pull_request": true, "issue_comment": true, "push": true}
	ignored := 0
	for _, name := range names {
		if handled[name] {
			continue
		}
		for i, payload := range examples[name] {
			res := w.run(name, payload, "ghs_write", nil)
			if res.err != nil {
				t.Errorf("%s example %d: the step failed: %v\n%s", name, i, res.err, res.commands)
				continue
			}
			if !strings.Contains(res.commands, "::notice::") || !strings.Contains(res.commands, name) {
				t.Errorf("%s example %d: no notice naming the event:\n%s", name, i, res.commands)
			}
			ignored++
		}
	}
	if ignored < 50 {
		t.Errorf("only %d example payloads of unhandled events were tried; the corpus has more", ignored)
	}
	t.Logf("%d example payloads of %d unhandled event types: all exit 0 with a notice", ignored, len(names)-len(handled))
	if n := len(w.gh.Comments(exampleRepo, prNumber)); n != 0 {
		t.Errorf("ignored events wrote %d comments", n)
	}
}
