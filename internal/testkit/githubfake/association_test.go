package githubfake

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The fake reports each commenter's author_association: set explicitly,
// else OWNER for the repository's owner, COLLABORATOR for a user with a
// role, NONE otherwise. Each value passes the REST description's schema.
func TestAuthorAssociation(t *testing.T) {
	f := New(t)
	f.AddToken("rw", true)
	f.AddRepo("o/r")
	f.SetPullRequest("o/r", PullRequest{Number: 1, HeadSHA: "abc", HeadRef: "x", BaseRef: "main", BaseSHA: "def", User: "first"})
	f.SetRole("o/r", "writer", "write")
	want := map[string]string{"o": "OWNER", "writer": "COLLABORATOR", "stranger": "NONE"}
	for _, a := range []string{"MEMBER", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN"} {
		f.SetAssociation("o/r", a, a)
		want[a] = a
	}
	for user := range want {
		f.AddComment("o/r", 1, user, "hi")
	}
	req, _ := http.NewRequest("GET", f.URL()+"/repos/o/r/issues/1/comments?per_page=100", nil)
	req.Header.Set("Authorization", "Bearer rw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []struct {
		User        struct{ Login string } `json:"user"`
		Association string                 `json:"author_association"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got) != len(want) {
		t.Fatalf("%d comments: %v", len(got), err)
	}
	for _, c := range got {
		if c.Association != want[c.User.Login] {
			t.Errorf("%s: author_association %s, want %s", c.User.Login, c.Association, want[c.User.Login])
		}
	}
	f.SetPullRequest("o/r", PullRequest{Number: 2, HeadSHA: "abc", HeadRef: "x", BaseRef: "main", BaseSHA: "def", User: "FIRST_TIMER"})
	req, _ = http.NewRequest("GET", f.URL()+"/repos/o/r/pulls/2", nil)
	req.Header.Set("Authorization", "Bearer rw")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pr struct {
		Association string `json:"author_association"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil || pr.Association != "FIRST_TIMER" {
		t.Errorf("pull request author_association %q: %v", pr.Association, err)
	}
}
