package action

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runway-ci/runway"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/store/storeopen"
	"github.com/runway-ci/runway/internal/testkit/githubfake"
	"github.com/runway-ci/runway/registrar"
)

// The repository GitHub's example payloads are about; the fake serves it
// under the same name, so the payloads need no change there.
const (
	exampleRepo   = "Codertocat/Hello-World"
	exampleSender = "Codertocat"
	project       = "house-prices"
)

var (
	examplesOnce sync.Once
	examples     map[string][]map[string]any
	examplesErr  error
)

// example returns a deep copy of the first payload GitHub publishes for
// event (in @octokit/webhooks-examples, fetched with npm) that match says
// is the one.
func example(t *testing.T, event string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	examplesOnce.Do(func() {
		dir, err := githubfake.NPMPackage(context.Background(), githubfake.WebhookExamplesPackage, githubfake.WebhookExamplesVersion, "api.github.com/")
		if err != nil {
			examplesErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, "api.github.com", "index.json"))
		if err != nil {
			examplesErr = err
			return
		}
		var all []struct {
			Name     string           `json:"name"`
			Examples []map[string]any `json:"examples"`
		}
		if examplesErr = json.Unmarshal(b, &all); examplesErr != nil {
			return
		}
		examples = map[string][]map[string]any{}
		for _, e := range all {
			examples[e.Name] = e.Examples
		}
	})
	if examplesErr != nil {
		t.Fatalf("GitHub's example payloads (%s@%s, fetched with npm) are needed: %v",
			githubfake.WebhookExamplesPackage, githubfake.WebhookExamplesVersion, examplesErr)
	}
	for _, ex := range examples[event] {
		if match(ex) {
			b, _ := json.Marshal(ex)
			var cp map[string]any
			if err := json.Unmarshal(b, &cp); err != nil {
				t.Fatal(err)
			}
			return cp
		}
	}
	t.Fatalf("no %s example matches", event)
	return nil
}

func withAction(action string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["action"] == action }
}

// set writes v at a dotted path of a payload; the path must exist, so a
// test can only adapt fields GitHub's example has.
func set(t *testing.T, m map[string]any, path string, v any) {
	t.Helper()
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("example payload has no object at %q (in %s)", k, path)
		}
		m = next
	}
	if _, ok := m[keys[len(keys)-1]]; !ok {
		t.Fatalf("example payload has no field %s", path)
	}
	m[keys[len(keys)-1]] = v
}

// sampleRepo copies the sample pipeline into a new git repository on
// branch master (the example payloads' default branch) and commits it.
func sampleRepo(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = t.TempDir()
	err := runway.WriteSample(dir)
	if err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "init", "-q", "-b", "master")
	return dir, commitAll(t, dir, "house-prices sample pipeline")
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitAll(t *testing.T, dir, msg string) string {
	t.Helper()
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", msg)
	return runGit(t, dir, "rev-parse", "HEAD")
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// world is one repository's GitHub, checkout and store.
type world struct {
	t        *testing.T
	gh       *githubfake.Fake
	dir      string // the checkout (GITHUB_WORKSPACE)
	storeDir string
}

func newWorld(t *testing.T) (*world, string) {
	t.Helper()
	dir, base := sampleRepo(t)
	gh := githubfake.New(t)
	gh.AddToken("ghs_write", true)
	gh.AddToken("ghs_read", false)
	gh.AddRepo(exampleRepo)
	return &world{t: t, gh: gh, dir: dir, storeDir: t.TempDir()}, base
}

// result is what one run of the Action left behind.
type result struct {
	err      error
	outputs  map[string]string
	summary  string
	commands string // workflow commands on stdout (annotations)
}

// run runs the Action's entry point as the Actions runner would: INPUT_*
// variables, the event payload in a file named by GITHUB_EVENT_PATH, and
// the GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
func (w *world) run(event string, payload map[string]any, token string, extra map[string]string) result {
	w.t.Helper()
	return w.runWith(event, payload, token, extra, func(env map[string]string, stdout *bytes.Buffer) error {
		return Run(context.Background(), WithGetenv(func(k string) string { return env[k] }), WithStdout(stdout))
	})
}

// runWith prepares the runner's environment and files and calls exec.
func (w *world) runWith(event string, payload map[string]any, token string, extra map[string]string,
	exec func(env map[string]string, stdout *bytes.Buffer) error) result {
	w.t.Helper()
	tmp := w.t.TempDir()
	b, err := json.Marshal(payload)
	if err != nil {
		w.t.Fatal(err)
	}
	evPath, outPath, sumPath := filepath.Join(tmp, "event.json"), filepath.Join(tmp, "output"), filepath.Join(tmp, "summary.md")
	for _, p := range []string{outPath, sumPath} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := os.WriteFile(evPath, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": evPath,
		"GITHUB_OUTPUT": outPath, "GITHUB_STEP_SUMMARY": sumPath,
		"GITHUB_REPOSITORY": exampleRepo, "GITHUB_API_URL": w.gh.URL(), "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_RUN_ID": "4242", "GITHUB_WORKSPACE": w.dir, "HOME": tmp,
		"INPUT_STORE": "file://" + w.storeDir, "INPUT_DOMAIN": "development",
		"INPUT_GITHUB-TOKEN": token, "INPUT_WORKING-DIRECTORY": ".", "INPUT_PLATFORM-CONFIG": "", "INPUT_RUN": "",
	}
	for k, v := range extra {
		env[k] = v
	}
	var stdout bytes.Buffer
	err = exec(env, &stdout)
	out, _ := os.ReadFile(outPath)
	sum, _ := os.ReadFile(sumPath)
	return result{err: err, outputs: parseOutputs(w.t, string(out)), summary: string(sum), commands: stdout.String()}
}

// parseOutputs reads a GITHUB_OUTPUT file (name<<DELIMITER ... DELIMITER).
func parseOutputs(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			if k, v, ok := strings.Cut(lines[i], "="); ok {
				out[k] = v
				continue
			}
			t.Fatalf("GITHUB_OUTPUT line %q is not name<<delimiter or name=value", lines[i])
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func (w *world) store() store.Store {
	w.t.Helper()
	s, err := storeopen.Open("file://" + w.storeDir)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// entities lists what the store holds for a domain.
func (w *world) entities(domain string) []*registrar.Stored {
	w.t.Helper()
	var all []*registrar.Stored
	for _, k := range []registrar.Kind{registrar.KindTask, registrar.KindWorkflow, registrar.KindLaunchPlan} {
		got, err := registrar.List(context.Background(), w.store(), project, domain, k)
		if err != nil {
			w.t.Fatal(err)
		}
		all = append(all, got...)
	}
	return all
}

// prPayload adapts GitHub's pull_request example to this repository: the
// head and base SHAs and the number (and for synchronize, before/after).
func prPayload(t *testing.T, action string, number int, base, head, before string) map[string]any {
	p := example(t, "pull_request", withAction(action))
	set(t, p, "number", number)
	set(t, p, "pull_request.number", number)
	set(t, p, "pull_request.head.sha", head)
	set(t, p, "pull_request.base.sha", base)
	if action == "synchronize" {
		set(t, p, "before", before)
		set(t, p, "after", head)
	}
	return p
}

// commentPayload adapts GitHub's issue_comment example: the number, and
// the comment body, which is the command under test.
func commentPayload(t *testing.T, number int, body string) map[string]any {
	p := example(t, "issue_comment", withAction("created"))
	set(t, p, "issue.number", number)
	set(t, p, "comment.body", body)
	return p
}

// pushPayload adapts GitHub's push example to the default branch: the SHAs.
func pushPayload(t *testing.T, before, after string) map[string]any {
	p := example(t, "push", func(m map[string]any) bool { return m["ref"] == "refs/heads/master" })
	set(t, p, "before", before)
	set(t, p, "after", after)
	return p
}
