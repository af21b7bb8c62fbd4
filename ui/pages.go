package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/executor/local"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// name checks a path segment that names a project, domain, entity or
// node: what runway.yaml allows, so nothing else reaches the store.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

func checkName(what, s string) error {
	if !namePattern.MatchString(s) {
		return badRequest("%s %q is not a valid name", what, s)
	}
	return nil
}

// --- executions list ---

type executionsData struct {
	Filter      executionFilter
	Projects    []string
	Domains     []string
	Statuses    []executor.Status
	LaunchPlans []string
	Rows        []executionRow
	Limit       int
}

type executionRow struct {
	executor.ExecutionView
	Kind, Name, Version string
	Nodes, Failed       int
}

var allStatuses = []executor.Status{executor.StatusQueued, executor.StatusRunning, executor.StatusSucceeded,
	executor.StatusFailed, executor.StatusAborted}

func (h *Handler) executionsPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := executionFilter{Project: q.Get("project"), Domain: q.Get("domain"), Status: q.Get("status"), LaunchPlan: q.Get("launchplan")}
	for what, v := range map[string]string{"project": f.Project, "domain": f.Domain, "launch plan": f.LaunchPlan} {
		if v != "" {
			if err := checkName(what, v); err != nil {
				return err
			}
		}
	}
	if f.Status != "" && !slices.Contains(allStatuses, executor.Status(f.Status)) {
		return badRequest("status %q: want one of queued, running, succeeded, failed, aborted", f.Status)
	}
	c, err := h.catalog(r.Context())
	if err != nil {
		return err
	}
	list, err := h.executions(r.Context(), c, f)
	if err != nil {
		return err
	}
	now := h.now()
	if wantsJSON(r) {
		views := make([]executor.ExecutionView, 0, len(list))
		for _, e := range list {
			views = append(views, executor.View(e, now))
		}
		return writeJSON(w, views)
	}
	d := executionsData{Filter: f, Projects: c.Projects, Domains: c.Domains, Statuses: allStatuses, LaunchPlans: c.launchPlans(), Limit: h.listLimit}
	for _, e := range list {
		row := executionRow{ExecutionView: executor.View(e, now), Kind: string(e.Target.Kind), Name: e.Target.Name, Version: e.Target.Version, Nodes: len(e.Nodes)}
		for _, n := range e.Nodes {
			if n.Status == executor.StatusFailed {
				row.Failed++
			}
		}
		d.Rows = append(d.Rows, row)
	}
	h.render(w, r, http.StatusOK, "executions", "Executions", jsonURL(r), d)
	return nil
}

// --- one execution ---

type executionData struct {
	Ex        *executor.Execution
	View      executor.ExecutionView
	DAG       dag
	Timeline  timeline
	Inputs    []valueRow
	Outputs   []valueRow
	Live      bool
	EventsURL string
}

// loadExecution reads the execution named by the request's path.
func (h *Handler) loadExecution(r *http.Request) (*executor.Execution, error) {
	p, d, id := r.PathValue("project"), r.PathValue("domain"), r.PathValue("id")
	if err := checkName("project", p); err != nil {
		return nil, err
	}
	if err := checkName("domain", d); err != nil {
		return nil, err
	}
	if err := executor.ValidateID(id); err != nil {
		return nil, badRequest("execution %v", err)
	}
	ex, err := executor.Get(r.Context(), h.store, p, d, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("execution %s not found in %s/%s", id, p, d)
	}
	return ex, err
}

func (h *Handler) executionPage(w http.ResponseWriter, r *http.Request) error {
	ex, err := h.loadExecution(r)
	if err != nil {
		return err
	}
	now := h.now()
	if wantsJSON(r) {
		return writeJSON(w, executor.View(ex, now))
	}
	d := executionData{Ex: ex, View: executor.View(ex, now), DAG: layoutDAG(ex.Nodes), Timeline: layoutTimeline(ex, now),
		Inputs: h.valueRows(ex.Project, ex.Domain, ex.Inputs), Outputs: h.valueRows(ex.Project, ex.Domain, ex.Outputs),
		Live: !ex.Status.Done(), EventsURL: link(h.prefix, "executions", ex.Project, ex.Domain, ex.ID, "events")}
	h.render(w, r, http.StatusOK, "execution", "Execution "+ex.ID, jsonURL(r), d)
	return nil
}

// --- one node ---

type nodeData struct {
	Ex         *executor.Execution
	Node       *executor.NodeRecord
	View       executor.NodeView
	Attempts   []attemptRow
	Inputs     []valueRow
	Outputs    []valueRow
	Downstream []string
	Task       *registrar.Task
	TaskErr    string
	// Used is what the last attempt that was measured used.
	Used *executor.Usage
	// Logs are the attempts' kept logs (local executor), last attempt first.
	Logs []nodeLog
}

// nodeLog is one attempt's kept log, shown up to its last logShown bytes.
type nodeLog struct {
	Attempt   int
	Size      int64
	Text      string
	Truncated bool
	URL       string
}

// logShown is how much of a log's end a node page shows; the link has all.
const logShown = 64 << 10

// nodeJSON is a node's JSON twin: the node as `runway get execution -o
// json` shows it, plus what only this page shows.
type nodeJSON struct {
	executor.NodeView
	Execution string               `json:"execution"`
	CacheKey  string               `json:"cacheKey,omitempty"`
	Started   *time.Time           `json:"started,omitempty"`
	Finished  *time.Time           `json:"finished,omitempty"`
	Resources *registrar.Resources `json:"resources,omitempty"`
	Image     string               `json:"image,omitempty"`
	Bundle    string               `json:"bundle,omitempty"`
	Retries   *int                 `json:"retries,omitempty"`
	Timeout   string               `json:"timeout,omitempty"`
	// AttemptLog is every attempt with its start, end and failure.
	AttemptLog []executor.AttemptRecord `json:"attemptLog,omitempty"`
}

// attemptRow is one attempt as the node page lists it.
type attemptRow struct {
	executor.AttemptRecord
	Duration string
}

func (h *Handler) nodePage(w http.ResponseWriter, r *http.Request) error {
	ex, err := h.loadExecution(r)
	if err != nil {
		return err
	}
	id := r.PathValue("node")
	n := ex.Node(id)
	if n == nil {
		return notFound("execution %s has no node %q", ex.ID, id)
	}
	var view executor.NodeView
	for _, v := range executor.View(ex, h.now()).Nodes {
		if v.ID == id {
			view = v
		}
	}
	d := nodeData{Ex: ex, Node: n, View: view, Inputs: h.valueRows(ex.Project, ex.Domain, n.Inputs), Outputs: h.valueRows(ex.Project, ex.Domain, n.Outputs)}
	for _, a := range n.AttemptLog {
		end := h.now()
		if a.Finished != nil {
			end = *a.Finished
		}
		d.Attempts = append(d.Attempts, attemptRow{AttemptRecord: a, Duration: roundDuration(end.Sub(a.Started)).String()})
		if a.Usage != nil {
			d.Used = a.Usage
		}
	}
	for _, o := range ex.Nodes {
		if slices.Contains(o.Upstream, id) {
			d.Downstream = append(d.Downstream, o.ID)
		}
	}
	d.Logs = h.nodeLogs(ex, id)
	st, err := registrar.Get(r.Context(), h.store, registrar.ID{Project: n.Task.Project, Domain: ex.Domain, Kind: registrar.KindTask, Name: n.Task.Name, Version: n.Task.Version})
	if err != nil {
		d.TaskErr = err.Error()
	} else {
		d.Task = st.Entity.Task
	}
	if wantsJSON(r) {
		j := nodeJSON{NodeView: view, Execution: ex.ID, CacheKey: n.CacheKey, Started: n.Started, Finished: n.Finished, AttemptLog: n.AttemptLog}
		if t := d.Task; t != nil {
			j.Resources, j.Image, j.Bundle, j.Retries, j.Timeout = &t.Resources, t.Image, t.Bundle, &t.Retries, t.Timeout
		}
		return writeJSON(w, j)
	}
	h.render(w, r, http.StatusOK, "node", "Node "+id+" of "+ex.ID, jsonURL(r), d)
	return nil
}

// nodeLogs reads the tails of a node's kept attempt logs, newest first.
// A log that cannot be read is left out: logs are a convenience, and the
// page must not fail for one.
func (h *Handler) nodeLogs(ex *executor.Execution, node string) []nodeLog {
	if h.logDir == "" {
		return nil
	}
	list, err := local.Logs(h.logDir, ex.ID, node)
	if err != nil {
		h.log.Warn("ui: listing logs", "execution", ex.ID, "node", node, "err", err)
		return nil
	}
	var out []nodeLog
	for i := len(list) - 1; i >= 0; i-- {
		l := list[i]
		text, truncated, err := readTail(l.Path, logShown)
		if err != nil {
			continue
		}
		out = append(out, nodeLog{Attempt: l.Attempt, Size: l.Size, Text: text, Truncated: truncated,
			URL: link(h.prefix, "executions", ex.Project, ex.Domain, ex.ID, "nodes", node, "logs", strconv.Itoa(l.Attempt))})
	}
	return out
}

// readTail returns the last limit bytes of a file.
func readTail(path string, limit int64) (string, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	off := max(fi.Size()-limit, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	return strings.ToValidUTF8(string(b), "\uFFFD"), off > 0, err
}

// attemptLog serves one attempt's whole kept log as plain text.
func (h *Handler) attemptLog(w http.ResponseWriter, r *http.Request) error {
	ex, err := h.loadExecution(r)
	if err != nil {
		return err
	}
	node := r.PathValue("node")
	if ex.Node(node) == nil {
		return notFound("execution %s has no node %q", ex.ID, node)
	}
	n, err := strconv.Atoi(r.PathValue("attempt"))
	if err != nil || n < 1 {
		return badRequest("attempt %q: want a number from 1", r.PathValue("attempt"))
	}
	if h.logDir == "" {
		return notFound("this view keeps no task logs (the local executor keeps them under $RUNWAY_HOME/logs)")
	}
	list, err := local.Logs(h.logDir, ex.ID, node)
	if err != nil {
		return err
	}
	for _, l := range list {
		if l.Attempt != n {
			continue
		}
		f, err := os.Open(l.Path)
		if err != nil {
			return fmt.Errorf("opening the log of %s %s attempt %d: %w", ex.ID, node, n, err)
		}
		defer f.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.Copy(w, f)
		return nil
	}
	return notFound("no log kept for execution %s node %s attempt %d (a cache hit runs nothing; old logs are dropped past the size cap)", ex.ID, node, n)
}

// --- live updates ---

// liveState is what a live page updates in place: one event per change.
type liveState struct {
	Status   executor.Status `json:"status"`
	Done     bool            `json:"done"`
	Duration string          `json:"duration"`
	Nodes    []liveNode      `json:"nodes"`
}

type liveNode struct {
	ID       string               `json:"id"`
	Status   executor.Status      `json:"status"`
	Cache    executor.CacheStatus `json:"cache"`
	Attempts int                  `json:"attempts"`
	Duration string               `json:"duration"`
}

// executionEvents streams server-sent events: the execution's state each
// time its record changes (read every PollInterval), then "done" once it
// has finished. The page then reloads once to show the final picture.
func (h *Handler) executionEvents(w http.ResponseWriter, r *http.Request) error {
	ex, err := h.loadExecution(r)
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return errors.New("this server cannot stream events")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var last string
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	ctx := r.Context()
	for quiet := 0; ; {
		st := liveState{Status: ex.Status, Done: ex.Status.Done(), Nodes: make([]liveNode, 0, len(ex.Nodes))}
		v := executor.View(ex, h.now())
		st.Duration = v.Duration
		for _, n := range v.Nodes {
			st.Nodes = append(st.Nodes, liveNode{ID: n.ID, Status: n.Status, Cache: n.Cache, Attempts: n.Attempts, Duration: n.Duration})
		}
		body, err := jsonLine(st)
		if err != nil {
			return nil
		}
		if body != last || quiet >= 15 {
			last, quiet = body, 0
			if _, err := fmt.Fprintf(w, "data: %s\n\n", body); err != nil {
				return nil
			}
			fl.Flush()
		}
		if st.Done {
			fmt.Fprint(w, "event: done\ndata: {}\n\n")
			fl.Flush()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			quiet++
		}
		next, err := executor.Get(ctx, h.store, ex.Project, ex.Domain, ex.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Warn("ui: re-reading execution", "execution", ex.ID, "err", err)
			continue // keep the last state; the store may be back next time
		}
		ex = next
	}
}

// --- downloads ---

var downloadName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// blob streams a file or dir value by digest from the domain's execution
// repository, verifying the digest as it goes: on a mismatch the
// connection is cut, so a client never keeps tampered bytes as complete.
func (h *Handler) blob(w http.ResponseWriter, r *http.Request) error {
	p, d := r.PathValue("project"), r.PathValue("domain")
	if err := checkName("project", p); err != nil {
		return err
	}
	if err := checkName("domain", d); err != nil {
		return err
	}
	dg, err := v1.NewHash(r.PathValue("digest"))
	if err != nil || dg.Algorithm != "sha256" {
		return badRequest("%q is not a sha256 digest", r.PathValue("digest"))
	}
	repo := store.ExecutionRepo(p, d)
	rc, err := h.store.GetBlob(r.Context(), repo, dg)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("blob %s not found in %s", dg, repo)
	}
	if err != nil {
		return fmt.Errorf("opening blob %s in %s: %w", dg, repo, err)
	}
	defer rc.Close()
	name := downloadName.ReplaceAllString(r.URL.Query().Get("name"), "_")
	if name == "" || strings.Trim(name, "._") == "" {
		name = dg.Hex[:12]
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	hd.Set("ETag", `"`+dg.String()+`"`)
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	sum := sha256.New()
	if _, err := io.Copy(w, io.TeeReader(rc, sum)); err != nil {
		panic(http.ErrAbortHandler)
	}
	if hex.EncodeToString(sum.Sum(nil)) != dg.Hex {
		h.log.Error("ui: blob does not match its digest", "repo", repo, "digest", dg.String())
		panic(http.ErrAbortHandler)
	}
	return nil
}

// --- entities ---

type entitiesData struct {
	Project  string
	Projects []string
	Rows     []entityRow
}

type entityRow struct {
	Project string
	Kind    registrar.Kind
	Name    string
	Domains []string
}

func (h *Handler) entitiesPage(w http.ResponseWriter, r *http.Request) error {
	project := r.URL.Query().Get("project")
	if project != "" {
		if err := checkName("project", project); err != nil {
			return err
		}
	}
	c, err := h.catalog(r.Context())
	if err != nil {
		return err
	}
	rows := map[string]*entityRow{}
	var keys []string
	for _, e := range c.Entities {
		if project != "" && e.Project != project {
			continue
		}
		k := e.Project + "/" + string(e.Kind) + "/" + e.Name
		if rows[k] == nil {
			rows[k] = &entityRow{Project: e.Project, Kind: e.Kind, Name: e.Name}
			keys = append(keys, k)
		}
		rows[k].Domains = append(rows[k].Domains, e.Domain)
	}
	d := entitiesData{Project: project, Projects: c.Projects}
	for _, k := range keys {
		row := rows[k]
		row.Domains = h.orderDomains(row.Domains)
		d.Rows = append(d.Rows, *row)
	}
	sort.SliceStable(d.Rows, func(i, j int) bool {
		a, b := d.Rows[i], d.Rows[j]
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		if a.Kind != b.Kind {
			return slices.Index(registrar.Kinds, a.Kind) < slices.Index(registrar.Kinds, b.Kind)
		}
		return a.Name < b.Name
	})
	if wantsJSON(r) {
		if d.Rows == nil {
			d.Rows = []entityRow{}
		}
		return writeJSON(w, d.Rows)
	}
	h.render(w, r, http.StatusOK, "entities", "Entities", jsonURL(r), d)
	return nil
}

type entityData struct {
	H        *promote.History
	Versions []entityVersion
}

type entityVersion struct {
	promote.VersionHistory
	Identical bool
	Events    []promote.Event
}

func (h *Handler) entityPage(w http.ResponseWriter, r *http.Request) error {
	p, name := r.PathValue("project"), r.PathValue("name")
	if err := checkName("project", p); err != nil {
		return err
	}
	if err := checkName("entity", name); err != nil {
		return err
	}
	kind, err := registrar.ParseKind(r.PathValue("kind"))
	if err != nil {
		return badRequest("%v", err)
	}
	hist, err := h.promoter.History(r.Context(), p, kind, name, promote.HistoryOptions{})
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return writeJSON(w, hist)
	}
	d := entityData{H: hist}
	for i := len(hist.Versions) - 1; i >= 0; i-- { // newest first
		v := hist.Versions[i]
		ev := entityVersion{VersionHistory: v, Identical: identical(v.Domains)}
		for _, e := range hist.Events {
			if e.Version == v.Version {
				ev.Events = append(ev.Events, e)
			}
		}
		d.Versions = append(d.Versions, ev)
	}
	h.render(w, r, http.StatusOK, "entity", string(kind)+" "+name, jsonURL(r), d)
	return nil
}

// --- versions and the version trail ---

type versionsData struct {
	Projects []string
	Project  string
	Version  string
	Recent   []recentVersion
}

type recentVersion struct {
	Project, Version string
	Created          string
}

// versionsPage asks for a project and a version and sends the browser to
// its trail; without them it lists the versions the store holds.
func (h *Handler) versionsPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	project, version := strings.TrimSpace(q.Get("project")), strings.TrimSpace(q.Get("version"))
	if project != "" && version != "" {
		if err := checkName("project", project); err != nil {
			return err
		}
		if err := checkName("version", version); err != nil {
			return err
		}
		http.Redirect(w, r, link(h.prefix, "versions", project, version), http.StatusSeeOther)
		return nil
	}
	c, err := h.catalog(r.Context())
	if err != nil {
		return err
	}
	d := versionsData{Projects: c.Projects, Project: project}
	seen := map[string]bool{}
	for _, e := range c.Entities {
		if e.Kind != registrar.KindWorkflow {
			continue
		}
		vs, err := registrar.Versions(r.Context(), h.store, registrar.ID{Project: e.Project, Domain: e.Domain, Kind: e.Kind, Name: e.Name})
		if err != nil {
			return err
		}
		for _, v := range vs {
			if k := e.Project + "@" + v; !seen[k] {
				seen[k] = true
				d.Recent = append(d.Recent, recentVersion{Project: e.Project, Version: v})
			}
		}
	}
	if wantsJSON(r) {
		if d.Recent == nil {
			d.Recent = []recentVersion{}
		}
		return writeJSON(w, d.Recent)
	}
	h.render(w, r, http.StatusOK, "versions", "Versions", jsonURL(r), d)
	return nil
}

func (h *Handler) trailPage(w http.ResponseWriter, r *http.Request) error {
	p, v := r.PathValue("project"), r.PathValue("version")
	if err := checkName("project", p); err != nil {
		return err
	}
	if err := checkName("version", v); err != nil {
		return err
	}
	c, err := h.catalog(r.Context())
	if err != nil {
		return err
	}
	t, err := h.trail(r.Context(), c, p, v)
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return writeJSON(w, t)
	}
	h.render(w, r, http.StatusOK, "trail", "Version "+shortVersion(v)+" of "+p, jsonURL(r), t)
	return nil
}

// --- login (bearer token mode) ---

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	_, isBearer := h.auth.(bearer)
	h.render(w, r, http.StatusOK, "login", "Sign in", "", struct{ Bearer, Failed bool }{isBearer, r.URL.Query().Has("failed")})
}

// login checks a token typed into the login form and, if it is right,
// sets the session cookie (HttpOnly, SameSite=Strict) that proves it.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	b, ok := h.auth.(bearer)
	if !ok {
		http.Error(w, "this view does not use a bearer token", http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || !b.matches(strings.TrimSpace(r.PostForm.Get("token"))) {
		http.Redirect(w, r, h.prefix+"login?failed=1", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: hex.EncodeToString(b.session()), Path: h.prefix, //nolint:gosec // G124: Secure is set below whenever the request came over TLS
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
	http.Redirect(w, r, h.prefix, http.StatusSeeOther)
}

// jsonLine is v as one line of JSON (for an event's data field).
func jsonLine(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}
