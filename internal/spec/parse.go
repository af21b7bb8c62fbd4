package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a spec, located by file, line, entity and
// field. Every error runway reports about a runway.yaml is one of these.
type FieldError struct {
	File   string // path as given to Parse
	Line   int    // 1-based; 0 if unknown
	Entity string // `task "prepare"`, `workflow "train"`, ... or ""
	Field  string // "resources.limits.cpu", relative to the entity
	Msg    string
	// Via is the line of the alias that brought the value in, if any.
	Via int
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Entity != "" {
		b.WriteString(e.Entity)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Via > 0 && e.Via != e.Line {
		fmt.Fprintf(&b, " (through the alias on line %d)", e.Via)
	}
	return b.String()
}

// Errors is a list of problems, reported together, sorted by line.
type Errors []*FieldError

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders errors by file, line and message, for stable output.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Error() < es[j].Error()
	})
}

// Err returns nil for an empty list.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	return es
}

// Load reads and parses dir/runway.yaml.
func Load(dir string) (*Spec, error) {
	p := filepath.Join(dir, FileName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return Parse(p, b)
}

// Parse parses runway.yaml bytes strictly. file names the source in errors.
// The returned error is an Errors value listing every problem found.
func Parse(file string, b []byte) (*Spec, error) {
	s, es, err := ParsePartial(file, b)
	if err != nil {
		return nil, err
	}
	if len(es) > 0 {
		return nil, es.Err()
	}
	return s, nil
}

// LoadPartial reads dir/runway.yaml like Load, but see ParsePartial.
func LoadPartial(dir string) (*Spec, Errors, error) {
	p := filepath.Join(dir, FileName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return ParsePartial(p, b)
}

// ParsePartial parses like Parse, but keeps going past strict-decoding
// problems (unknown fields, values of the wrong shape): it returns the spec
// decoded from everything else together with those problems, so that the
// semantic checks can run in the same pass and every error is reported at
// once. err is set (an Errors value) only when nothing usable could be
// decoded: invalid YAML, several documents, a top level that is no mapping.
func ParsePartial(file string, b []byte) (*Spec, Errors, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, Errors{{File: file, Msg: "the file is empty; it needs at least a project name"}}
		}
		return nil, nil, Errors{syntaxError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, nil, Errors{{File: file, Line: extra.Line, Msg: "more than one YAML document; runway.yaml holds exactly one"}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		line := 1
		if len(doc.Content) > 0 {
			line = doc.Content[0].Line
		}
		return nil, nil, Errors{{File: file, Line: line, Msg: "the top level must be a mapping (project:, image:, tasks: ...)"}}
	}
	// Decode first: the decoder refuses alias bombs ("excessive
	// aliasing") before the line walk below could expand them.
	s := &Spec{}
	sdec := yaml.NewDecoder(bytes.NewReader(b))
	sdec.KnownFields(true)
	derr := sdec.Decode(s)
	var te *yaml.TypeError
	if derr != nil && !errors.As(derr, &te) {
		return nil, nil, Errors{syntaxError(file, derr)}
	}
	lines, via := LineMap{}, LineMap{}
	budget := maxWalk
	walk(doc.Content[0], "", lines, via, 0, 0, &budget)
	names := entityNames(doc.Content[0])
	var es Errors
	if te != nil {
		for _, m := range te.Errors {
			es = append(es, typeError(file, m, lines, names))
		}
	}
	s.File, s.Lines, s.Via = file, lines, via
	for k := range s.Extensions {
		if !strings.HasPrefix(k, "x-") {
			es = append(es, &FieldError{File: file, Line: lines.Line(k),
				Msg: fmt.Sprintf("unknown field %q (allowed: %s; keys starting with x- may hold shared anchors)", k, strings.Join(fieldsOf("Spec"), ", "))})
		}
	}
	es.Sort()
	return s, es, nil
}

var lineRE = lazyRegexp(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxError(file string, err error) *FieldError {
	msg := err.Error()
	if m := lineRE().FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: n, Msg: "invalid YAML: " + m[2]}
	}
	return &FieldError{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

var (
	unknownFieldRE = lazyRegexp(`^field (\S+) not found in type spec\.(\w+)$`)
	unmarshalRE    = lazyRegexp("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
	unmarshalKind  = lazyRegexp(`^cannot unmarshal !!(\w+) into (.+)$`)
)

var typeNames = map[string]string{
	"string": "a string", "int": "a whole number", "bool": "true or false",
	"float64": "a number", "[]string": "a list of strings",
	"map[string]string":       "a mapping of names to strings",
	"map[string]interface {}": "a mapping", "map[string]any": "a mapping",
}

var yamlKinds = map[string]string{
	"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean",
	"seq": "a list", "map": "a mapping", "null": "nothing",
}

func typeError(file, m string, lines LineMap, names *Spec) *FieldError {
	fe := &FieldError{File: file, Msg: m}
	lm := lineRE().FindStringSubmatch(m)
	if lm == nil {
		return fe
	}
	fe.Line, _ = strconv.Atoi(lm[1])
	rest := lm[2]
	path := lines.PathAt(fe.Line)
	switch {
	case unknownFieldRE().MatchString(rest):
		sm := unknownFieldRE().FindStringSubmatch(rest)
		fe.Msg = fmt.Sprintf("unknown field %q (allowed in %s: %s)", sm[1], strings.ToLower(sm[2]), strings.Join(fieldsOf(sm[2]), ", "))
		// The path at this line is the unknown field itself; name its parent.
		path = parentPath(path)
	case unmarshalRE().MatchString(rest):
		sm := unmarshalRE().FindStringSubmatch(rest)
		fe.Msg = fmt.Sprintf("got %s %q, want %s", yamlKinds[sm[1]], sm[2], goTypeName(sm[3]))
	case unmarshalKind().MatchString(rest):
		sm := unmarshalKind().FindStringSubmatch(rest)
		fe.Msg = fmt.Sprintf("got %s, want %s", yamlKinds[sm[1]], goTypeName(sm[2]))
		// The deepest path on the line is an element of the offending
		// collection; name the collection.
		for strings.HasSuffix(path, "]") {
			path = parentPath(path)
		}
	}
	fe.Entity, fe.Field = SplitPath(path, names)
	return fe
}

// entityNames reads just the entity names from the node tree, so that
// errors found while decoding can still name the entity.
func entityNames(root *yaml.Node) *Spec {
	s := &Spec{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		for v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range v.Content {
			name := scalarField(item, "name")
			switch k {
			case "tasks":
				s.Tasks = append(s.Tasks, Task{Name: name})
			case "workflows":
				s.Workflows = append(s.Workflows, Workflow{Name: name})
			case "launchplans":
				s.LaunchPlans = append(s.LaunchPlans, LaunchPlan{Name: name})
			}
		}
	}
	return s
}

func scalarField(n *yaml.Node, key string) string {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func goTypeName(t string) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	t = strings.TrimPrefix(t, "spec.")
	return "a " + strings.ToLower(t)
}

// maxWalk bounds the nodes the line walk visits (aliases can multiply a
// small document); a spec large enough to reach it still parses, with the
// lines of what is past the budget reported at their closest ancestor.
const maxWalk = 200_000

// walk records the line of every value in the tree under its field path.
// Aliases are followed; values reached through one keep the line they are
// written on, and via records the alias line.
func walk(n *yaml.Node, path string, lines, via LineMap, aliasLine, depth int, budget *int) {
	*budget--
	if depth > 64 || *budget < 0 {
		return // alias loops and bombs are rejected by the decoder anyway
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias != nil {
			walk(n.Alias, path, lines, via, n.Line, depth+1, budget)
			if path != "" {
				lines[path] = n.Line // the use site names the field
			}
		}
		return
	}
	if path != "" {
		if _, ok := lines[path]; !ok {
			lines[path] = n.Line
		}
		if aliasLine > 0 {
			via[path] = aliasLine
		}
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				// Merged keys: record them under this mapping's path.
				targets := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					targets = v.Content
				}
				for _, t := range targets {
					al := v.Line
					for t.Kind == yaml.AliasNode && t.Alias != nil {
						t = t.Alias
					}
					walk(t, path, lines, via, al, depth+1, budget)
				}
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			if aliasLine > 0 {
				via[p] = aliasLine
			}
			walk(v, p, lines, via, aliasLine, depth+1, budget)
			lines[p] = k.Line
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, fmt.Sprintf("%s[%d]", path, i), lines, via, aliasLine, depth+1, budget)
		}
	}
}

// PathAt returns the deepest field path written on line (the last key on it).
func (m LineMap) PathAt(line int) string {
	best := ""
	for p, l := range m {
		if l == line && (len(p) > len(best) || (len(p) == len(best) && p > best)) {
			best = p
		}
	}
	return best
}

func parentPath(p string) string { return parent(p) }

// SplitPath turns "tasks[0].resources.limits.cpu" into (`task "prepare"`,
// "resources.limits.cpu"), naming the entity by its name when s is given
// and the index is in range, else by its position.
func SplitPath(path string, s *Spec) (entity, field string) {
	for _, sec := range []struct{ key, kind string }{{"tasks", "task"}, {"workflows", "workflow"}, {"launchplans", "launch plan"}} {
		if !strings.HasPrefix(path, sec.key+"[") {
			continue
		}
		end := strings.Index(path, "]")
		if end < 0 {
			break
		}
		idx, err := strconv.Atoi(path[len(sec.key)+1 : end])
		if err != nil {
			break
		}
		field = strings.TrimPrefix(path[end+1:], ".")
		name := ""
		if s != nil {
			switch sec.key {
			case "tasks":
				if idx < len(s.Tasks) {
					name = s.Tasks[idx].Name
				}
			case "workflows":
				if idx < len(s.Workflows) {
					name = s.Workflows[idx].Name
				}
			case "launchplans":
				if idx < len(s.LaunchPlans) {
					name = s.LaunchPlans[idx].Name
				}
			}
		}
		if name != "" {
			return fmt.Sprintf("%s %q", sec.kind, name), field
		}
		return fmt.Sprintf("%s #%d", sec.kind, idx+1), field
	}
	return "", path
}

// Errorf builds a FieldError for the value at path, located with the spec's
// line map and naming the entity.
func (s *Spec) Errorf(path, format string, args ...any) *FieldError {
	ent, field := SplitPath(path, s)
	return &FieldError{
		File: s.File, Line: s.Lines.Line(path), Via: s.Via[path],
		Entity: ent, Field: field, Msg: fmt.Sprintf(format, args...),
	}
}

func fieldsOf(typ string) []string {
	m := map[string][]string{
		"Spec":       {"project", "image", "bundle", "tasks", "workflows", "launchplans"},
		"Image":      {"base", "dependencies", "install", "env"},
		"Bundle":     {"exclude"},
		"Task":       {"name", "command", "inputs", "outputs", "env", "resources", "cache", "retries", "timeout"},
		"Resources":  {"requests", "limits"},
		"Cache":      {"version", "codeAware"},
		"Workflow":   {"name", "inputs", "nodes", "outputs"},
		"Node":       {"id", "task", "inputs"},
		"LaunchPlan": {"name", "workflow", "inputs", "schedule"},
	}
	return m[typ]
}

// lazyRegexp compiles expr on first use, keeping process start-up cheap.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
