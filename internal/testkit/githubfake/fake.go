// Package githubfake is a strict, local stand-in for GitHub's REST API, for
// tests. It serves only the routes in routes_gen.go, which are derived from
// GitHub's published REST description (see routegen), and it is strict the
// way GitHub is, and stricter where a lenient GitHub would hide a bug:
//
//   - a method and path that is not one of the routes fails the test (and
//     gets 404);
//   - a path parameter of the wrong type, a query parameter the operation
//     does not have, a request body field of the wrong type, outside its
//     enum, missing although required, or unknown, fails the test and gets
//     GitHub's 422 (or 404 for a bad path);
//   - every response status must be one the description documents for the
//     operation, or one GitHub documents for every operation (304 for a
//     conditional GET, 401/403 for credentials, 429/403 rate limits, 5xx);
//     and every success response must carry the fields the description
//     marks required;
//   - requests need a token; a read-only token (a fork's GITHUB_TOKEN) gets
//     403 "Resource not accessible by integration" on writes, as on GitHub.
//
// GETs carry a weak ETag and answer If-None-Match with 304. Faults (5xx,
// rate limits with Retry-After or X-RateLimit-Reset) can be queued per
// route. The fake keeps repositories, pull requests, comments, reactions,
// statuses and collaborator roles in memory, and logs every request.
package githubfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runway-ci/runway/internal/testkit/githubfake/routegen"
)

// TB is the part of testing.TB the fake reports to.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Fake is a running fake GitHub API.
type Fake struct {
	tb     TB
	srv    *httptest.Server
	routes []routegen.Route

	mu       sync.Mutex
	nextID   int64
	tokens   map[string]bool // token -> may write
	repos    map[string]*repo
	requests []Request
	faults   []*Fault
	now      func() time.Time

	// teams: "org/team-slug" (lower case) -> members (lower case).
	teams map[string]map[string]bool

	// The GitHub App side (app.go).
	apps           map[int64]*app
	minted         int
	expiry         map[string]time.Time // installation token -> expiry
	hookDeliveries []*HookDelivery
	hookURL        string
	hookSecret     []byte
}

type repo struct {
	owner, name string
	pulls       map[int]*PullRequest
	comments    []*Comment
	roles       map[string]string
	assoc       map[string]string // user -> author_association, when set
	statuses    map[string][]Status
	reactions   map[int64][]Reaction
}

// PullRequest is a pull request the fake knows.
type PullRequest struct {
	Number         int
	Title          string
	User           string
	State          string // open (default) or closed
	HeadSHA        string
	HeadRef        string
	HeadRepo       string // owner/name; default the base repository
	BaseSHA        string
	BaseRef        string
	Merged         bool
	MergeCommitSHA string
	MergedBy       string
	// Commits are the SHAs that GET commits/{sha}/pulls associates with the
	// pull request (besides HeadSHA and MergeCommitSHA).
	Commits []string
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID      int64
	Issue   int
	User    string
	Body    string
	Created time.Time
	Updated time.Time
	Edits   int
}

// Status is a commit status as posted.
type Status struct {
	State, Context, Description, TargetURL string
}

// Reaction is a reaction to a comment.
type Reaction struct {
	User, Content string
}

// Request is one request the fake received.
type Request struct {
	Method, Path, Operation string
	Status                  int
	Conditional             bool // carried If-None-Match
}

// Fault makes the next Times requests to a route fail.
type Fault struct {
	Method string // "" = any
	Path   string // path prefix after the API root, e.g. "/repos/o/r/pulls"
	Times  int
	Status int
	Header http.Header
	// Message and DocURL make the error body, as GitHub words it (go-github
	// tells a secondary rate limit by its documentation_url).
	Message, DocURL string
}

// New starts a fake GitHub and stops it when the test ends.
func New(tb TB) *Fake {
	tb.Helper()
	f := &Fake{tb: tb, routes: routeTable(), tokens: map[string]bool{}, repos: map[string]*repo{}, nextID: 1000, now: time.Now}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

// URL is the API root, as GITHUB_API_URL would hold it.
func (f *Fake) URL() string { return f.srv.URL }

// AddToken makes token valid; write says whether it may write.
func (f *Fake) AddToken(token string, write bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = write
}

// AddRepo creates a repository.
func (f *Fake) AddRepo(fullName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, name, _ := strings.Cut(fullName, "/")
	f.repos[fullName] = &repo{owner: owner, name: name, pulls: map[int]*PullRequest{}, roles: map[string]string{}, assoc: map[string]string{},
		statuses: map[string][]Status{}, reactions: map[int64][]Reaction{}}
}

func (f *Fake) repo(fullName string) *repo {
	r, ok := f.repos[fullName]
	if !ok {
		f.tb.Helper()
		f.tb.Errorf("githubfake: repository %s was not added", fullName)
		f.mu.Unlock()
		f.AddRepo(fullName)
		f.mu.Lock()
		r = f.repos[fullName]
	}
	return r
}

// SetTeamMember makes user an active member of the team org/slug, for
// "@org/slug" actors in the promotion policy.
func (f *Fake) SetTeamMember(org, slug, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.teams == nil {
		f.teams = map[string]map[string]bool{}
	}
	key := strings.ToLower(org + "/" + slug)
	if f.teams[key] == nil {
		f.teams[key] = map[string]bool{}
	}
	f.teams[key][strings.ToLower(user)] = true
}

// SetRole gives user a role (admin, maintain, write, triage, read) on a repository.
func (f *Fake) SetRole(fullName, user, role string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repo(fullName).roles[user] = role
}

// SetAssociation sets the author_association GitHub reports on the
// user's comments and pull requests in a repository: OWNER, MEMBER,
// COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER,
// MANNEQUIN or NONE. Unset, it follows from the user: the repository's
// owner is OWNER, a user with a role is COLLABORATOR, anyone else NONE
// (CONTRIBUTOR on a pull request).
func (f *Fake) SetAssociation(fullName, user, association string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch association {
	case "OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE":
	default:
		f.tb.Helper()
		f.tb.Errorf("githubfake: %q is not an author_association GitHub reports", association)
	}
	f.repo(fullName).assoc[user] = association
}

// association is the author_association of user's comments (def for one
// with no role: NONE on comments, CONTRIBUTOR on pull requests).
func (rp *repo) association(user, def string) string {
	switch {
	case rp.assoc[user] != "":
		return rp.assoc[user]
	case user == rp.owner:
		return "OWNER"
	case rp.roles[user] != "" && rp.roles[user] != "none":
		return "COLLABORATOR"
	}
	return def
}

// SetPullRequest adds or replaces a pull request.
func (f *Fake) SetPullRequest(fullName string, pr PullRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.HeadRepo == "" {
		pr.HeadRepo = fullName
	}
	f.repo(fullName).pulls[pr.Number] = &pr
}

// AddComment posts a comment as user (as a person would, outside the code
// under test) and returns its ID.
func (f *Fake) AddComment(fullName string, issue int, user, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	now := f.now()
	f.repo(fullName).comments = append(f.repo(fullName).comments, &Comment{ID: f.nextID, Issue: issue, User: user, Body: body, Created: now, Updated: now})
	return f.nextID
}

// Comments returns the comments of an issue or pull request, oldest first.
func (f *Fake) Comments(fullName string, issue int) []Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Comment
	for _, c := range f.repo(fullName).comments {
		if c.Issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// Statuses returns the statuses posted for a commit, oldest first.
func (f *Fake) Statuses(fullName, sha string) []Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.repo(fullName).statuses[sha])
}

// Reactions returns the reactions to a comment.
func (f *Fake) Reactions(fullName string, commentID int64) []Reaction {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.repo(fullName).reactions[commentID])
}

// Requests returns the requests received so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Writes counts the requests that were not GETs.
func (f *Fake) Writes() int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

// AddFault queues a fault.
func (f *Fake) AddFault(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &ft)
}

// apiError writes GitHub's error body.
func apiError(msg string) map[string]any {
	return map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
}

// genericStatuses are statuses GitHub documents for every operation.
func genericStatus(method string, code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusNotModified:
		return method == http.MethodGet
	}
	return false
}

type call struct {
	route  routegen.Route
	params map[string]string
	query  map[string][]string
	body   map[string]any
	token  string
	write  bool
}

func (f *Fake) match(method, p string) (routegen.Route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for _, r := range f.routes {
		if r.Method != method {
			continue
		}
		tsegs := strings.Split(strings.Trim(r.Path, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, t := range tsegs {
			if strings.HasPrefix(t, "{") {
				params[strings.Trim(t, "{}")] = segs[i]
			} else if t != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return r, params, true
		}
	}
	return routegen.Route{}, nil, false
}

func typeOK(typ string, v any) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return true
}

// validate checks a request against its route; it returns a 422/404
// message, or "".
func validate(c *call) (int, string) {
	for _, p := range c.route.PathParams {
		v := c.params[p.Name]
		if p.Type == "integer" {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return http.StatusNotFound, fmt.Sprintf("path parameter %s=%q is not an integer", p.Name, v)
			}
		}
	}
	for k := range c.query {
		i := slices.IndexFunc(c.route.QueryParams, func(p routegen.Param) bool { return p.Name == k })
		if i < 0 {
			return http.StatusUnprocessableEntity, fmt.Sprintf("query parameter %q is not a parameter of %s", k, c.route.OperationID)
		}
	}
	for _, p := range c.route.Body {
		v, ok := c.body[p.Name]
		if !ok || v == nil {
			if p.Required {
				return http.StatusUnprocessableEntity, fmt.Sprintf("%q is a required field of %s", p.Name, c.route.OperationID)
			}
			continue
		}
		if !typeOK(p.Type, v) {
			return http.StatusUnprocessableEntity, fmt.Sprintf("field %q of %s must be %s, got %T", p.Name, c.route.OperationID, p.Type, v)
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, fmt.Sprint(v)) {
			return http.StatusUnprocessableEntity, fmt.Sprintf("field %q of %s must be one of %v, got %v", p.Name, c.route.OperationID, p.Enum, v)
		}
	}
	for k := range c.body {
		if !slices.ContainsFunc(c.route.Body, func(p routegen.Param) bool { return p.Name == k }) {
			return http.StatusUnprocessableEntity, fmt.Sprintf("field %q is not a field of %s", k, c.route.OperationID)
		}
	}
	return 0, ""
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.tb.Helper()
	route, params, ok := f.match(r.Method, r.URL.Path)
	if !ok {
		f.tb.Errorf("githubfake: %s %s is not a route githubfake serves from GitHub's REST description", r.Method, r.URL.Path)
		f.reply(w, r, routegen.Route{}, http.StatusNotFound, apiError("Not Found"))
		return
	}
	c := &call{route: route, params: params, query: r.URL.Query()}
	if r.Method != http.MethodGet {
		// No body at all is a body without fields (go-github sends none for
		// POSTs that take none); validate still asks for required fields.
		if err := json.NewDecoder(r.Body).Decode(&c.body); err != nil && !(errors.Is(err, io.EOF) && r.ContentLength <= 0) {
			f.tb.Errorf("githubfake: %s %s: body is not a JSON object: %v", r.Method, r.URL.Path, err)
			f.reply(w, r, route, http.StatusBadRequest, apiError("Problems parsing JSON"))
			return
		}
	}
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "token "))
	if strings.HasPrefix(route.Path, "/app/") { // the App itself: a JWT, never a token
		a, msg := f.verifyJWT(tok)
		if a == nil {
			f.reply(w, r, route, http.StatusUnauthorized, apiError(msg))
			return
		}
		c.token, c.write = tok, true
		if code, msg := validate(c); code != 0 {
			f.tb.Errorf("githubfake: %s %s: %s", r.Method, r.URL.Path, msg)
			f.reply(w, r, route, code, apiError("Validation Failed: "+msg))
			return
		}
		code, body := f.handleApp(c, a)
		if items, ok := body.([]map[string]any); ok && code == http.StatusOK {
			body = f.cursorPage(w, r, items)
		}
		f.reply(w, r, route, code, body)
		return
	}
	f.mu.Lock()
	write, known := f.tokens[tok]
	if exp, ok := f.expiry[tok]; ok && !f.now().Before(exp) {
		known = false // an installation token past its expiry
	}
	f.mu.Unlock()
	if !known {
		f.reply(w, r, route, http.StatusUnauthorized, apiError("Bad credentials"))
		return
	}
	c.token, c.write = tok, write
	if code, msg := validate(c); code != 0 {
		f.tb.Errorf("githubfake: %s %s: %s", r.Method, r.URL.Path, msg)
		f.reply(w, r, route, code, apiError("Validation Failed: "+msg))
		return
	}
	if ft := f.takeFault(r.Method, r.URL.Path); ft != nil {
		for k, v := range ft.Header {
			w.Header()[k] = v
		}
		body := apiError("fault injected by the test")
		if ft.Message != "" {
			body["message"] = ft.Message
		}
		if ft.DocURL != "" {
			body["documentation_url"] = ft.DocURL
		}
		f.reply(w, r, route, ft.Status, body)
		return
	}
	if r.Method != http.MethodGet && !c.write {
		f.reply(w, r, route, http.StatusForbidden, apiError("Resource not accessible by integration"))
		return
	}
	code, body := f.handle(c)
	if items, ok := body.([]map[string]any); ok && code == http.StatusOK {
		body = f.paginate(w, r, items)
	}
	f.reply(w, r, route, code, body)
}

func (f *Fake) takeFault(method, p string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.faults {
		if ft.Times > 0 && (ft.Method == "" || ft.Method == method) && strings.HasPrefix(p, ft.Path) {
			ft.Times--
			return ft
		}
	}
	return nil
}

func (f *Fake) reply(w http.ResponseWriter, r *http.Request, route routegen.Route, code int, body any) {
	f.tb.Helper()
	if route.OperationID != "" && !slices.Contains(route.Statuses, code) && !genericStatus(r.Method, code) {
		f.tb.Errorf("githubfake: %s answered %d, which GitHub does not document for it (%v)", route.OperationID, code, route.Statuses)
	}
	if code >= 200 && code < 300 && route.ResponseRequired != nil {
		f.checkResponse(route, body)
	}
	b, err := json.Marshal(body)
	if err != nil {
		f.tb.Errorf("githubfake: encoding a response: %v", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	if w.Header().Get("X-RateLimit-Remaining") == "" {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.now().Add(time.Hour).Unix(), 10))
	}
	conditional := false
	if r.Method == http.MethodGet && code == http.StatusOK {
		sum := sha256.Sum256(b)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		w.Header().Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			conditional = true
			if inm == etag {
				code, b = http.StatusNotModified, nil
			}
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Operation: route.OperationID, Status: code, Conditional: conditional})
	f.mu.Unlock()
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func (f *Fake) checkResponse(route routegen.Route, body any) {
	f.tb.Helper()
	var objs []map[string]any
	switch v := body.(type) {
	case map[string]any:
		objs = []map[string]any{v}
	case []map[string]any:
		objs = v
	}
	for _, o := range objs {
		for _, k := range route.ResponseRequired {
			if _, ok := o[k]; !ok {
				f.tb.Errorf("githubfake: %s response lacks required field %q", route.OperationID, k)
			}
		}
	}
}

// paginate answers one page of a list and sets GitHub's Link header.
func (f *Fake) paginate(w http.ResponseWriter, r *http.Request, all []map[string]any) []map[string]any {
	q := r.URL.Query()
	page, per := atoiOr(q, "page", 1), min(atoiOr(q, "per_page", 30), 100)
	lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
	last := max((len(all)+per-1)/per, 1)
	link := func(p int, rel string) string {
		u := *r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s%s>; rel=%q", f.srv.URL, u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return all[lo:hi]
}
