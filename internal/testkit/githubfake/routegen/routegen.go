// Package routegen derives the routes githubfake serves from GitHub's
// published REST description (the @octokit/openapi npm package,
// generated/api.github.com.json): for each operation runway calls, the
// method, the path template, the path and query parameters, the request
// body's fields (type, required, enum), the documented status codes and the
// top-level fields a success response must carry.
//
// The table is checked in (../routes_gen.go, written by ../gen) so that
// ordinary tests need no download; TestRoutesMatchOpenAPI (integration tag)
// fetches the description again and fails when the table no longer matches.
package routegen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"sort"
	"strconv"
	"strings"
)

// Op names one operation of the description.
type Op struct{ Method, Path string }

// Wanted lists the operations runway calls, in the order they are served.
func Wanted() []Op {
	return []Op{
		{"GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"},
		{"POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"},
		{"PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"},
		{"POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"},
		{"POST", "/repos/{owner}/{repo}/statuses/{sha}"},
		{"GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"},
		{"GET", "/repos/{owner}/{repo}/pulls/{pull_number}"},
		{"GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"},
		// "@org/team" actors in the promotion policy.
		{"GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"},
		// runway serve as a GitHub App: installation tokens, and the
		// reconciler's sweep of missed webhook deliveries.
		{"POST", "/app/installations/{installation_id}/access_tokens"},
		{"GET", "/app/hook/deliveries"},
		{"POST", "/app/hook/deliveries/{delivery_id}/attempts"},
	}
}

// Param is a path or query parameter, or a request body field.
type Param struct {
	Name     string
	Type     string // string, integer, boolean, number, array, object
	Required bool
	Enum     []string
}

// Route is one operation.
type Route struct {
	OperationID string
	Method      string
	Path        string
	PathParams  []Param
	QueryParams []Param
	Body        []Param
	Statuses    []int
	// ResponseRequired are the fields every success response object (or,
	// with ResponseArray, every item) must have.
	ResponseRequired []string
	ResponseArray    bool
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       any                `json:"type"`
	Required   []string           `json:"required"`
	Enum       []any              `json:"enum"`
	Properties map[string]*schema `json:"properties"`
	OneOf      []*schema          `json:"oneOf"`
	AnyOf      []*schema          `json:"anyOf"`
	AllOf      []*schema          `json:"allOf"`
	Items      *schema            `json:"items"`
}

type parameter struct {
	Ref      string  `json:"$ref"`
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required"`
	Schema   *schema `json:"schema"`
}

type response struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema *schema `json:"schema"`
	} `json:"content"`
}

type operation struct {
	OperationID string       `json:"operationId"`
	Parameters  []*parameter `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]*response `json:"responses"`
}

type document struct {
	Paths      map[string]map[string]*operation `json:"paths"`
	Components struct {
		Parameters map[string]*parameter `json:"parameters"`
		Schemas    map[string]*schema    `json:"schemas"`
		Responses  map[string]*response  `json:"responses"`
	} `json:"components"`
}

func refName(ref, kind string) (string, error) {
	prefix := "#/components/" + kind + "/"
	if !strings.HasPrefix(ref, prefix) {
		return "", fmt.Errorf("unsupported $ref %q (want %s...)", ref, prefix)
	}
	return strings.TrimPrefix(ref, prefix), nil
}

func (d *document) schema(s *schema) (*schema, error) {
	for depth := 0; s != nil && s.Ref != ""; depth++ {
		if depth > 16 {
			return nil, fmt.Errorf("$ref chain too deep at %q", s.Ref)
		}
		n, err := refName(s.Ref, "schemas")
		if err != nil {
			return nil, err
		}
		next, ok := d.Components.Schemas[n]
		if !ok {
			return nil, fmt.Errorf("unknown schema %q", n)
		}
		s = next
	}
	return s, nil
}

func (d *document) typeOf(s *schema) (string, error) {
	s, err := d.schema(s)
	if err != nil || s == nil {
		return "", err
	}
	switch t := s.Type.(type) {
	case string:
		return t, nil
	case []any: // OpenAPI 3.1 ["string", "null"]
		for _, x := range t {
			if x != "null" {
				return fmt.Sprint(x), nil
			}
		}
	}
	for _, alts := range [][]*schema{s.OneOf, s.AnyOf} {
		if len(alts) > 0 {
			return "any", nil // several shapes accepted: type not checked
		}
	}
	return "", nil
}

func enumStrings(s *schema) []string {
	var out []string
	for _, e := range s.Enum {
		if e == nil {
			continue
		}
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// Derive reads an OpenAPI document and returns the routes of ops.
func Derive(doc []byte, ops []Op) ([]Route, error) {
	var d document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("parsing the REST API description: %w", err)
	}
	var out []Route
	for _, op := range ops {
		methods, ok := d.Paths[op.Path]
		if !ok {
			return nil, fmt.Errorf("path %s is not in GitHub's REST API description", op.Path)
		}
		o, ok := methods[strings.ToLower(op.Method)]
		if !ok {
			return nil, fmt.Errorf("%s %s is not in GitHub's REST API description", op.Method, op.Path)
		}
		r, err := d.route(op, o)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op.Method, op.Path, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *document) route(op Op, o *operation) (Route, error) {
	r := Route{OperationID: o.OperationID, Method: op.Method, Path: op.Path}
	for _, p := range o.Parameters {
		if p.Ref != "" {
			n, err := refName(p.Ref, "parameters")
			if err != nil {
				return r, err
			}
			q, ok := d.Components.Parameters[n]
			if !ok {
				return r, fmt.Errorf("unknown parameter %q", n)
			}
			p = q
		}
		t, err := d.typeOf(p.Schema)
		if err != nil {
			return r, err
		}
		par := Param{Name: p.Name, Type: t, Required: p.Required}
		if s, _ := d.schema(p.Schema); s != nil {
			par.Enum = enumStrings(s)
		}
		switch p.In {
		case "path":
			r.PathParams = append(r.PathParams, par)
		case "query":
			r.QueryParams = append(r.QueryParams, par)
		}
	}
	if o.RequestBody != nil {
		c, ok := o.RequestBody.Content["application/json"]
		if !ok {
			return r, fmt.Errorf("request body is not application/json")
		}
		s, err := d.schema(c.Schema)
		if err != nil {
			return r, err
		}
		req := map[string]bool{}
		for _, n := range s.Required {
			req[n] = true
		}
		for _, n := range sortedKeys(s.Properties) {
			ps, err := d.schema(s.Properties[n])
			if err != nil {
				return r, err
			}
			t, err := d.typeOf(ps)
			if err != nil {
				return r, err
			}
			r.Body = append(r.Body, Param{Name: n, Type: t, Required: req[n], Enum: enumStrings(ps)})
		}
	}
	var codes []string
	for c := range o.Responses {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		n, err := strconv.Atoi(c)
		if err != nil {
			continue // "default"
		}
		r.Statuses = append(r.Statuses, n)
		if n < 200 || n > 299 || r.ResponseRequired != nil {
			continue
		}
		resp := o.Responses[c]
		if resp.Ref != "" {
			name, err := refName(resp.Ref, "responses")
			if err != nil {
				return r, err
			}
			resp = d.Components.Responses[name]
		}
		if resp == nil {
			continue
		}
		ct, ok := resp.Content["application/json"]
		if !ok {
			continue
		}
		s, err := d.schema(ct.Schema)
		if err != nil {
			return r, err
		}
		if s.Type == "array" {
			r.ResponseArray = true
			if s, err = d.schema(s.Items); err != nil || s == nil {
				return r, fmt.Errorf("array response without items: %w", err)
			}
		}
		r.ResponseRequired = append([]string{}, s.Required...)
		sort.Strings(r.ResponseRequired)
	}
	return r, nil
}

func sortedKeys(m map[string]*schema) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// Source renders routes as a Go file of package pkg holding
// `func routeTable() []routegen.Route`.
func Source(pkg, origin string, routes []Route) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go run ./gen; DO NOT EDIT.\n// Source: %s\n\npackage %s\n\n", origin, pkg)
	b.WriteString("import \"github.com/runway-ci/runway/internal/testkit/githubfake/routegen\"\n\n")
	b.WriteString("func routeTable() []routegen.Route {\n\treturn []routegen.Route{\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "\t\t{\n\t\t\tOperationID: %q, Method: %q, Path: %q,\n", r.OperationID, r.Method, r.Path)
		for _, f := range []struct {
			name string
			ps   []Param
		}{{"PathParams", r.PathParams}, {"QueryParams", r.QueryParams}, {"Body", r.Body}} {
			if len(f.ps) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\t\t\t%s: []routegen.Param{\n", f.name)
			for _, p := range f.ps {
				fmt.Fprintf(&b, "\t\t\t\t{Name: %q, Type: %q, Required: %v", p.Name, p.Type, p.Required)
				if len(p.Enum) > 0 {
					fmt.Fprintf(&b, ", Enum: %#v", p.Enum)
				}
				b.WriteString("},\n")
			}
			b.WriteString("\t\t\t},\n")
		}
		fmt.Fprintf(&b, "\t\t\tStatuses: %#v,\n", r.Statuses)
		if r.ResponseRequired != nil {
			fmt.Fprintf(&b, "\t\t\tResponseRequired: %#v,\n", r.ResponseRequired)
		}
		if r.ResponseArray {
			b.WriteString("\t\t\tResponseArray: true,\n")
		}
		b.WriteString("\t\t},\n")
	}
	b.WriteString("\t}\n}\n")
	return format.Source(b.Bytes())
}
