package prbot

import (
	"context"
	"strings"
)

// postOnce posts a reply to an event at most once per delivery. The server
// replays a delivery whose work a crash interrupted; if the crash came
// after the reply was posted, the replay must not post it again. So a reply
// to a delivery carries a hidden marker naming it, and a reply whose
// marker is already on the pull request (written by runway) is not posted
// again. Without a delivery id (the Action: each run is its own event)
// replies are posted as they come.
func (r *run) postOnce(ctx context.Context, number int, body string) error {
	marker := deliveryMarker(r.ev.Delivery)
	if marker == "" {
		_, err := r.GitHub.CreateComment(ctx, r.repo.Owner, r.repo.Name, number, body)
		return err
	}
	comments, err := r.GitHub.Comments(ctx, r.repo.Owner, r.repo.Name, number)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.Contains(c.Body, marker) && trustedAuthor(c) {
			return nil // posted before the crash
		}
	}
	_, err = r.GitHub.CreateComment(ctx, r.repo.Owner, r.repo.Name, number, body+"\n"+marker+"\n")
	return err
}

// deliveryMarker is the hidden HTML comment naming a delivery. GitHub's
// delivery ids are GUIDs; anything else in one is dropped, so an id can
// never close the comment early.
func deliveryMarker(delivery string) string {
	id := strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, delivery)
	id = strings.Trim(id, "-") // "--" is not allowed inside an HTML comment
	id = strings.ReplaceAll(id, "--", "-")
	if id == "" {
		return ""
	}
	return "<!-- runway:delivery " + id + " -->"
}
