//go:build adversarial

package action

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runway-ci/runway/internal/testkit/githubfake"
)

// The injection corpus (issue 16, item 3): text an attacker controls
// (PR title, branch name, file names, task names, comment bodies) carrying
// Markdown and HTML, shell metacharacters, GitHub workflow commands and
// newlines. None of it may change what the sticky comment, the step
// summary, the outputs or the log mean. Every payload carries "pwn3d", so
// where it surfaces can be checked.
const (
	// injHTML closes runway's <details>, adds an image with a script and
	// mentions everyone.
	injHTML = "</details></td></table><img src=x onerror=alert(1)><a href=https://evil.example>approved</a> @everyone #1 pwn3d"
	// injShell would run commands if it ever reached a shell.
	injShell = "$(touch /tmp/pwn3d-shell) `touch /tmp/pwn3d-shell` ; touch /tmp/pwn3d-shell | & > /tmp/pwn3d-shell"
	// injCommands are workflow commands on their own lines.
	injCommands = "\n::set-output name=decision::pwn3d\n::add-mask::pwn3d\n::stop-commands::pwn3d\n::save-state name=x::pwn3d\ndecision=pwn3d\npromoted<<EOF\npwn3d\nEOF\n"
	// injBranch is a valid git ref name with as much as a ref allows.
	injBranch = "feat/</details><img/src=x/onerror=alert(1)>@everyone$(touch/tmp/pwn3d-shell)`id`pwn3d"
)

// workflowCommandRE matches a line the runner would take as a workflow
// command, and captures the command.
var workflowCommandRE = regexp.MustCompile(`^::([A-Za-z-]+)`)

// checkInert checks one run's log, outputs, step summary and the comments
// on the PR.
func checkInert(t *testing.T, w *world, res result, outputs map[string]bool) {
	t.Helper()
	for _, line := range strings.Split(res.commands, "\n") {
		m := workflowCommandRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch m[1] {
		case "error", "warning", "notice", "debug":
			// Annotations may quote the payload, escaped, on their one line.
		case "group", "endgroup", "add-mask":
			// runway's own (add-mask: the token), never carrying the payload.
			if strings.Contains(line, "pwn3d") {
				t.Errorf("the payload reached a %q command: %q", m[1], line)
			}
		default:
			t.Errorf("the log carries a %q workflow command: %q", m[1], line)
		}
	}
	for name, v := range res.outputs {
		if !outputs[name] {
			t.Errorf("an output %q was injected (%q)", name, v)
		}
		if name != "entities" && strings.Contains(v, "pwn3d") {
			t.Errorf("output %s = %q carries the payload", name, v)
		}
	}
	if _, err := os.Stat("/tmp/pwn3d-shell"); err == nil {
		os.Remove("/tmp/pwn3d-shell")
		t.Error("a shell ran the payload (/tmp/pwn3d-shell exists)")
	}
	docs := map[string]string{"step summary": res.summary}
	for _, c := range w.gh.Comments(exampleRepo, prNumber) {
		if c.User == "github-actions[bot]" { // runway's; the attacker's own comment is theirs
			docs["runway's comment"] += c.Body
		}
	}
	for name, doc := range docs {
		checkMarkdownInert(t, name, doc)
	}
}

// fenceRE matches fenced code blocks, codeRE inline code: text there is
// shown as it is (entities included), never rendered, linked or mentioned.
var (
	fenceRE = regexp.MustCompile("(?s)(```+)[a-z]*\n.*?\n(```+)\n")
	codeRE  = regexp.MustCompile(`(?s)<code>[^<]*</code>`)
)

// checkMarkdownInert: outside code blocks, no attacker HTML, no mention,
// no issue reference, no link, and runway's own <details> stay balanced.
func checkMarkdownInert(t *testing.T, name, doc string) {
	t.Helper()
	prose := codeRE.ReplaceAllString(fenceRE.ReplaceAllString(doc, ""), "")
	for _, bad := range []string{"<img", "<a href", "</table>", "</td>", "@everyone", "#1 ", "](https://evil"} {
		if strings.Contains(prose, bad) {
			t.Errorf("%s carries %q outside a code block:\n%s", name, bad, doc)
		}
	}
	if o, c := strings.Count(prose, "<details>"), strings.Count(prose, "</details>"); o != c {
		t.Errorf("%s: %d <details> but %d </details>: the payload closed runway's:\n%s", name, o, c, doc)
	}
}

var prOutputs = map[string]bool{"decision": true, "version": true, "image": true, "bundle": true, "entities": true, "execution": true, "promoted": true}

// TestAdversarialInjectionThroughAPullRequest: a PR whose title, branch and
// changed file names carry the corpus, and (second push) whose runway.yaml
// has a task named with it, so that it reaches validation errors and
// their annotations.
func TestAdversarialInjectionThroughAPullRequest(t *testing.T) {
	w, base := newWorld(t)
	runGit(t, w.dir, "checkout", "-q", "-b", "changes")
	// File names: Markdown, HTML and shell in one, workflow commands after
	// newlines in another.
	for _, name := range []string{injHTML + " " + injShell, "x" + injCommands + "y"} {
		if err := os.WriteFile(filepath.Join(w.dir, "pipeline", strings.ReplaceAll(name, "/", "∕")), []byte("# hostile name\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	head := commitAll(t, w.dir, "hostile names")
	title := injHTML + " " + injShell + injCommands
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: title, User: "mallory", HeadSHA: head, HeadRef: injBranch, BaseSHA: base, BaseRef: "master"})
	p := prPayload(t, "opened", prNumber, base, head, "")
	set(t, p, "pull_request.title", title)
	set(t, p, "pull_request.head.ref", injBranch)
	res := w.run("pull_request", p, "ghs_write", nil)
	if res.err != nil {
		t.Fatalf("the hostile PR failed: %v\n%s", res.err, res.commands)
	}
	if res.outputs["decision"] != "bundle" || res.outputs["version"] != head {
		t.Errorf("outputs %v", res.outputs)
	}
	checkInert(t, w, res, prOutputs)

	// A task named with the corpus: refused by validation, which quotes
	// the name in annotations, the summary and the comment.
	y := filepath.Join(w.dir, "runway.yaml")
	b, err := os.ReadFile(y)
	if err != nil {
		t.Fatal(err)
	}
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(injHTML + injCommands + injShell)
	bad := strings.Replace(string(b), "  - name: fit\n", "  - name: \""+quoted+"\"\n", 1)
	if bad == string(b) {
		t.Fatal("the sample has no task fit to rename")
	}
	if err := os.WriteFile(y, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	head2 := commitAll(t, w.dir, "hostile task name")
	w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: title, User: "mallory", HeadSHA: head2, HeadRef: injBranch, BaseSHA: base, BaseRef: "master"})
	p = prPayload(t, "synchronize", prNumber, base, head2, head)
	set(t, p, "pull_request.title", title)
	set(t, p, "pull_request.head.ref", injBranch)
	res = w.run("pull_request", p, "ghs_write", nil)
	if res.err == nil {
		t.Fatal("a task with that name was accepted")
	}
	if !strings.Contains(res.commands, "::error file=runway.yaml") {
		t.Errorf("no annotation for the bad name:\n%s", res.commands)
	}
	checkInert(t, w, res, prOutputs)
}

// TestAdversarialInjectionThroughAComment: comment commands whose
// arguments and following lines carry the corpus.
func TestAdversarialInjectionThroughAComment(t *testing.T) {
	for _, body := range []string{
		"/runway run train rows=" + injHTML + injCommands,
		"/runway promote " + injBranch + injCommands,
		"/runway " + injShell + injCommands,
		"/runway run " + injHTML,
	} {
		t.Run(strings.Fields(body)[1], func(t *testing.T) {
			w, base := newWorld(t)
			head := base
			w.gh.SetPullRequest(exampleRepo, githubfake.PullRequest{Number: prNumber, Title: injHTML, User: "alice", HeadSHA: head, HeadRef: injBranch, BaseSHA: base, BaseRef: "master"})
			w.gh.SetRole(exampleRepo, exampleSender, "admin")
			cid := w.gh.AddComment(exampleRepo, prNumber, exampleSender, body)
			p := commentPayload(t, prNumber, body)
			set(t, p, "comment.id", cid)
			res := w.run("issue_comment", p, "ghs_write", nil)
			if len(w.gh.Comments(exampleRepo, prNumber)) < 2 {
				t.Fatalf("runway did not reply (err %v)", res.err)
			}
			checkInert(t, w, res, prOutputs)
		})
	}
}
