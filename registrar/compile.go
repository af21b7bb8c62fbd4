package registrar

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/runway-ci/runway/internal/pathmatch"
	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
)

// Build holds what packaging decided for a version: the image and bundle
// every task of the version runs.
type Build struct {
	Version string // git SHA, or <sha>-dirty-<hex>
	Image   string // "repo@sha256:..." or ""
	Bundle  string // "sha256:<hex>" identity of the code bundle, or ""
}

// CompileOptions say where a spec is headed.
type CompileOptions struct {
	Platform *platform.Config // nil => platform.Default()
	Domain   string           // target domain; resources are checked against its ceilings
	// Store resolves cross-project references ("project/name@sha"). With a
	// nil store such references are reported as unverifiable errors.
	Store store.Store
}

// maxRetries bounds a task's retries; more is almost surely a typo.
const maxRetries = 10

var (
	identRE   = lazyRegexp(`^[a-z_][a-z0-9_]*$`)
	bindingRE = lazyRegexp(`^\{\{\s*([a-z0-9_.-]+)\s*\}\}$`)
	placeRE   = lazyRegexp(`\{\{\s*([^}]*?)\s*\}\}`)
	crossRE   = lazyRegexp(`^([^/@]+)/([^/@]+)@([^/@]+)$`)
	versionRE = lazyRegexp(`^[0-9a-f]{40}(-dirty-[0-9a-f]{12})?$`)
)

// cronParser accepts five-field expressions and descriptors (@daily).
var cronParser = sync.OnceValue(func() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
})

// ParseSchedule parses a launch plan's schedule as registration validates
// it; the scheduler and the diff against production use it too.
func ParseSchedule(s string) (cron.Schedule, error) { return cronParser().Parse(s) }

// compiler collects every error in one pass.
type compiler struct {
	s    *spec.Spec
	opts CompileOptions
	errs spec.Errors
	// interfaces of tasks by local name, and of cross-project refs
	tasks map[string]*spec.Task
	refs  map[string]*Task // "project/name@sha" -> resolved task
}

func (c *compiler) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, c.s.Errorf(path, format, args...))
}

// Validate runs every compile-time check and returns spec.Errors listing
// all problems, or nil.
func Validate(ctx context.Context, s *spec.Spec, opts CompileOptions) error {
	_, err := Compile(ctx, s, Build{Version: strings.Repeat("0", 40)}, opts)
	return err
}

// Compile validates s and turns it into entities at b.Version. Nothing is
// written. Entities come in registration order: tasks, workflows, launch plans.
func Compile(ctx context.Context, s *spec.Spec, b Build, opts CompileOptions) ([]*Entity, error) {
	if opts.Platform == nil {
		opts.Platform = platform.Default()
	}
	if opts.Domain == "" {
		opts.Domain = opts.Platform.Domains[0].Name
	}
	c := &compiler{s: s, opts: opts, tasks: map[string]*spec.Task{}, refs: map[string]*Task{}}
	if err := opts.Platform.CheckDomain(opts.Domain); err != nil {
		return nil, err
	}
	dom, _ := opts.Platform.Domain(opts.Domain)
	c.checkProject()
	ents := c.compileTasks(b, dom)
	ents = append(ents, c.compileWorkflows(ctx, b)...)
	ents = append(ents, c.compileLaunchPlans(b)...)
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	return ents, nil
}

func (c *compiler) checkName(path, what, name string) {
	if name == "" {
		c.errorf(path, "%s is required", what)
		return
	}
	for _, m := range validation.IsDNS1123Label(name) {
		c.errorf(path, "%s %q is not a valid name: %s", what, name, m)
	}
}

func (c *compiler) checkProject() {
	s := c.s
	c.checkName("project", "project", s.Project)
	for i, g := range s.Image.Dependencies {
		if err := pathmatch.Valid(g); err != nil {
			c.errorf(fmt.Sprintf("image.dependencies[%d]", i), "%v", err)
		}
	}
	for i, g := range s.Bundle.Exclude {
		if err := pathmatch.Valid(g); err != nil {
			c.errorf(fmt.Sprintf("bundle.exclude[%d]", i), "%v", err)
		}
	}
	for k := range s.Image.Env {
		if !envRE().MatchString(k) {
			c.errorf("image.env."+k, "%q is not a valid environment variable name", k)
		}
	}
	if len(s.Tasks) == 0 && len(s.Workflows) == 0 && len(s.LaunchPlans) == 0 {
		c.errorf("project", "no tasks, workflows or launch plans: there is nothing to register")
	}
}

var envRE = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c *compiler) checkInterface(path string, m map[string]string) {
	for _, n := range sortedKeys(m) {
		if !identRE().MatchString(n) {
			c.errorf(path+"."+n, "%q is not a valid name (lower case letters, digits and _; it becomes RUNWAY_INPUT_%s)", n, strings.ToUpper(n))
		}
		if !spec.IsType(m[n]) {
			c.errorf(path+"."+n, "unknown type %q (want one of %s)", m[n], strings.Join(spec.Types, ", "))
		}
	}
}

func (c *compiler) compileTasks(b Build, dom *platform.Domain) []*Entity {
	var out []*Entity
	for i := range c.s.Tasks {
		t := &c.s.Tasks[i]
		p := fmt.Sprintf("tasks[%d]", i)
		c.checkName(p+".name", "task name", t.Name)
		if prev, dup := c.tasks[t.Name]; dup && t.Name != "" {
			_ = prev
			c.errorf(p+".name", "task %q is defined twice", t.Name)
		}
		c.tasks[t.Name] = t
		c.checkInterface(p+".inputs", t.Inputs)
		c.checkInterface(p+".outputs", t.Outputs)
		if len(t.Command) == 0 {
			c.errorf(p+".command", "a command is required")
		}
		for j, arg := range t.Command {
			for _, m := range placeRE().FindAllStringSubmatch(arg, -1) {
				name, ok := strings.CutPrefix(m[1], "inputs.")
				if !ok {
					c.errorf(fmt.Sprintf("%s.command[%d]", p, j), "placeholder {{%s}}: a command may only use {{inputs.NAME}}", m[1])
					continue
				}
				if _, ok := t.Inputs[name]; !ok {
					c.errorf(fmt.Sprintf("%s.command[%d]", p, j), "placeholder {{%s}} names no input of the task (inputs: %s)", m[1], keyList(t.Inputs))
				}
			}
		}
		for k := range t.Env {
			if !envRE().MatchString(k) || strings.HasPrefix(k, "RUNWAY_") {
				c.errorf(p+".env."+k, "%q is not a valid environment variable name (RUNWAY_ is reserved)", k)
			}
		}
		res := c.checkResources(p+".resources", t.Resources, dom)
		if t.Retries < 0 || t.Retries > maxRetries {
			c.errorf(p+".retries", "retries must be between 0 and %d, got %d", maxRetries, t.Retries)
		}
		timeout := ""
		if t.Timeout != "" {
			d, err := time.ParseDuration(t.Timeout)
			switch {
			case err != nil:
				c.errorf(p+".timeout", "%q is not a duration (examples: 90s, 10m, 2h)", t.Timeout)
			case d <= 0:
				c.errorf(p+".timeout", "timeout must be positive, got %s", t.Timeout)
			default:
				timeout = d.String()
			}
		}
		var cache *Cache
		if t.Cache != nil {
			if t.Cache.Version == "" {
				c.errorf(p+".cache.version", "cache.version is required when cache is set (bump it to invalidate cached results)")
			}
			cache = &Cache{Version: t.Cache.Version, CodeAware: t.Cache.CodeAware}
		}
		out = append(out, &Entity{
			Kind: KindTask, Project: c.s.Project, Name: t.Name, Version: b.Version,
			Task: &Task{
				Image: b.Image, Bundle: b.Bundle, Command: t.Command, Env: mergeEnv(c.s.Image.Env, t.Env),
				Inputs: t.Inputs, Outputs: t.Outputs, Resources: res, Cache: cache,
				Retries: t.Retries, Timeout: timeout,
			},
		})
	}
	return out
}

func mergeEnv(a, b map[string]string) map[string]string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

var resourceNames = map[string]bool{"cpu": true, "memory": true, "ephemeral-storage": true}

func (c *compiler) checkResources(p string, r spec.Resources, dom *platform.Domain) Resources {
	parse := func(section string, m map[string]string) (map[string]resource.Quantity, map[string]string) {
		q := map[string]resource.Quantity{}
		var canon map[string]string
		for _, k := range sortedKeys(m) {
			fp := p + "." + section + "." + k
			if !resourceNames[k] {
				c.errorf(fp, "unknown resource %q (want cpu, memory or ephemeral-storage)", k)
				continue
			}
			v, err := resource.ParseQuantity(m[k])
			if err != nil {
				c.errorf(fp, "%q is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 4Gi)", m[k])
				continue
			}
			if v.Sign() <= 0 {
				c.errorf(fp, "%s must be positive, got %s", k, m[k])
				continue
			}
			q[k] = v
			if canon == nil {
				canon = map[string]string{}
			}
			canon[k] = v.String()
		}
		return q, canon
	}
	req, creq := parse("requests", r.Requests)
	lim, clim := parse("limits", r.Limits)
	for _, k := range sortedKeys(r.Requests) {
		rq, ok1 := req[k]
		lq, ok2 := lim[k]
		if ok1 && ok2 && rq.Cmp(lq) > 0 {
			c.errorf(p+".requests."+k, "request %s is larger than the limit %s", r.Requests[k], r.Limits[k])
		}
	}
	for _, x := range Exceeds(dom, creq, clim) {
		if x.Bound == BoundCeiling {
			c.errorf(p+"."+x.Field, "%s %s is above the %s domain's ceiling of %s (set by the platform team)", x.Key, x.Amount, dom.Name, x.Max)
		}
	}
	return Resources{Requests: creq, Limits: clim}
}

// taskInterface returns the interface of the task a node references.
func (c *compiler) taskInterface(ctx context.Context, p, ref string, b Build) (inputs, outputs map[string]string, r Ref, ok bool) {
	if m := crossRE().FindStringSubmatch(ref); m != nil {
		r = Ref{Project: m[1], Name: m[2], Version: m[3]}
		if !versionRE().MatchString(r.Version) {
			c.errorf(p, "reference %q must pin a full 40-hex commit SHA", ref)
			return nil, nil, r, false
		}
		if t, seen := c.refs[ref]; seen {
			if t == nil {
				return nil, nil, r, false
			}
			return t.Inputs, t.Outputs, r, true
		}
		if c.opts.Store == nil {
			c.errorf(p, "cannot check the cross-project reference %q without a store", ref)
			c.refs[ref] = nil
			return nil, nil, r, false
		}
		st, err := Get(ctx, c.opts.Store, ID{Project: r.Project, Domain: c.opts.Domain, Kind: KindTask, Name: r.Name, Version: r.Version})
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				c.errorf(p, "task %s is not registered in domain %s of %s", ref, c.opts.Domain, c.opts.Store)
			} else {
				c.errorf(p, "looking up %s: %v", ref, err)
			}
			c.refs[ref] = nil
			return nil, nil, r, false
		}
		c.refs[ref] = st.Entity.Task
		return st.Entity.Task.Inputs, st.Entity.Task.Outputs, r, true
	}
	if strings.ContainsAny(ref, "/@") {
		c.errorf(p, "%q is neither a task of this project nor a reference of the form project/name@sha", ref)
		return nil, nil, r, false
	}
	t, ok := c.tasks[ref]
	if !ok {
		c.errorf(p, "no task named %q (tasks: %s)", ref, taskNames(c.s))
		return nil, nil, r, false
	}
	return t.Inputs, t.Outputs, Ref{Project: c.s.Project, Name: ref, Version: b.Version}, true
}

func (c *compiler) compileWorkflows(ctx context.Context, b Build) []*Entity {
	var out []*Entity
	seen := map[string]bool{}
	for i := range c.s.Workflows {
		w := &c.s.Workflows[i]
		p := fmt.Sprintf("workflows[%d]", i)
		c.checkName(p+".name", "workflow name", w.Name)
		if seen[w.Name] && w.Name != "" {
			c.errorf(p+".name", "workflow %q is defined twice", w.Name)
		}
		seen[w.Name] = true
		c.checkInterface(p+".inputs", w.Inputs)
		if len(w.Nodes) == 0 {
			c.errorf(p+".nodes", "a workflow needs at least one node")
		}
		type nodeInfo struct {
			outputs map[string]string
			ok      bool
			idx     int
		}
		nodes := map[string]*nodeInfo{}
		compiled := make([]Node, len(w.Nodes))
		// First pass: ids and task interfaces.
		ifaces := make([]map[string]string, len(w.Nodes))
		for j, n := range w.Nodes {
			np := fmt.Sprintf("%s.nodes[%d]", p, j)
			c.checkName(np+".id", "node id", n.ID)
			if nodes[n.ID] != nil {
				c.errorf(np+".id", "node id %q is used twice in the workflow", n.ID)
				continue
			}
			if n.ID == "workflow" {
				c.errorf(np+".id", "node id %q is reserved", n.ID)
			}
			in, outs, ref, ok := c.taskInterface(ctx, np+".task", n.Task, b)
			nodes[n.ID] = &nodeInfo{outputs: outs, ok: ok, idx: j}
			ifaces[j] = in
			compiled[j] = Node{ID: n.ID, Task: ref, Inputs: n.Inputs}
		}
		// Second pass: bindings and edges.
		deps := map[string][]string{}
		for j, n := range w.Nodes {
			np := fmt.Sprintf("%s.nodes[%d]", p, j)
			info := nodes[n.ID]
			if info == nil || !info.ok {
				continue
			}
			in := ifaces[j]
			for _, name := range sortedKeys(in) {
				if _, ok := n.Inputs[name]; !ok {
					c.errorf(np+".inputs", "input %q (%s) of task %s is not bound", name, in[name], n.Task)
				}
			}
			for _, name := range sortedAnyKeys(n.Inputs) {
				ip := np + ".inputs." + name
				want, ok := in[name]
				if !ok {
					c.errorf(ip, "task %s has no input %q (inputs: %s)", n.Task, name, keyList(in))
					continue
				}
				c.checkBinding(ip, n.Inputs[name], want, w.Inputs, func(node, out string) (string, bool) {
					if node == n.ID {
						c.errorf(ip, "node %q cannot use its own output", node)
						return "", false
					}
					other := nodes[node]
					if other == nil {
						c.errorf(ip, "no node %q in workflow %q (nodes: %s)", node, w.Name, nodeIDs(w))
						return "", false
					}
					if !other.ok {
						return "", false
					}
					t, ok := other.outputs[out]
					if !ok {
						c.errorf(ip, "node %q has no output %q (outputs: %s)", node, out, keyList(other.outputs))
						return "", false
					}
					deps[n.ID] = append(deps[n.ID], node)
					return t, true
				})
			}
		}
		if cyc := findCycle(w, deps); cyc != nil {
			c.errorf(p+".nodes", "the nodes form a cycle: %s", strings.Join(cyc, " -> "))
		}
		outTypes := map[string]string{}
		for _, name := range sortedKeys(w.Outputs) {
			op := p + ".outputs." + name
			m := bindingRE().FindStringSubmatch(w.Outputs[name])
			parts := []string{}
			if m != nil {
				parts = strings.Split(m[1], ".")
			}
			if len(parts) != 3 || parts[1] != "outputs" {
				c.errorf(op, "%q must be a binding to a node output, like {{fit.outputs.model}}", w.Outputs[name])
				continue
			}
			node := nodes[parts[0]]
			if node == nil {
				c.errorf(op, "no node %q in workflow %q (nodes: %s)", parts[0], w.Name, nodeIDs(w))
				continue
			}
			if node.ok {
				t, ok := node.outputs[parts[2]]
				if !ok {
					c.errorf(op, "node %q has no output %q (outputs: %s)", parts[0], parts[2], keyList(node.outputs))
					continue
				}
				outTypes[name] = t
			}
		}
		out = append(out, &Entity{
			Kind: KindWorkflow, Project: c.s.Project, Name: w.Name, Version: b.Version,
			Workflow: &Workflow{Inputs: w.Inputs, Nodes: compiled, Outputs: w.Outputs},
		})
	}
	return out
}

// checkBinding type-checks one input value against the wanted type.
// nodeOut resolves {{node.outputs.name}} and records the edge.
func (c *compiler) checkBinding(p string, v any, want string, wfInputs map[string]string, nodeOut func(node, out string) (string, bool)) {
	str, isStr := v.(string)
	if isStr && strings.Contains(str, "{{") {
		m := bindingRE().FindStringSubmatch(str)
		if m == nil {
			c.errorf(p, "%q: a binding must be the whole value, like {{workflow.inputs.rows}} or {{prep.outputs.dataset}}", str)
			return
		}
		parts := strings.Split(m[1], ".")
		switch {
		case len(parts) == 3 && parts[0] == "workflow" && parts[1] == "inputs":
			got, ok := wfInputs[parts[2]]
			if !ok {
				c.errorf(p, "%s: the workflow has no input %q (inputs: %s)", str, parts[2], keyList(wfInputs))
				return
			}
			if !assignable(got, want) {
				c.errorf(p, "%s is %s, but the task input is %s", str, got, want)
			}
		case len(parts) == 3 && parts[1] == "outputs":
			got, ok := nodeOut(parts[0], parts[2])
			if ok && !assignable(got, want) {
				c.errorf(p, "%s is %s, but the task input is %s", str, got, want)
			}
		default:
			c.errorf(p, "%s: unknown binding (use {{workflow.inputs.NAME}} or {{NODE.outputs.NAME}})", str)
		}
		return
	}
	if err := CheckLiteral(v, want); err != nil {
		c.errorf(p, "%v", err)
	}
}

// assignable reports whether a value of type got may feed an input of type want.
func assignable(got, want string) bool {
	return got == want || (got == "int" && want == "float")
}

// CheckLiteral checks a literal input value (from YAML, JSON or the command
// line after parsing) against an interface type.
func CheckLiteral(v any, want string) error {
	ok := false
	switch want {
	case "string", "file", "dir":
		_, ok = v.(string)
	case "int":
		switch x := v.(type) {
		case int, int64:
			ok = true
		case float64:
			ok = x == float64(int64(x))
		case interface{ Int64() (int64, error) }:
			_, err := x.Int64()
			ok = err == nil
		}
	case "float":
		switch v.(type) {
		case int, int64, float64, interface{ Float64() (float64, error) }:
			ok = true
		}
	case "bool":
		_, ok = v.(bool)
	}
	if !ok {
		return fmt.Errorf("%s is not a valid %s", describe(v), want)
	}
	return nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "an empty value"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%v", x)
	}
}

func (c *compiler) compileLaunchPlans(b Build) []*Entity {
	var out []*Entity
	wfs := map[string]*spec.Workflow{}
	for i := range c.s.Workflows {
		wfs[c.s.Workflows[i].Name] = &c.s.Workflows[i]
	}
	seen := map[string]bool{}
	for i, lp := range c.s.LaunchPlans {
		p := fmt.Sprintf("launchplans[%d]", i)
		c.checkName(p+".name", "launch plan name", lp.Name)
		if seen[lp.Name] && lp.Name != "" {
			c.errorf(p+".name", "launch plan %q is defined twice", lp.Name)
		}
		seen[lp.Name] = true
		w, ok := wfs[lp.Workflow]
		if !ok {
			c.errorf(p+".workflow", "no workflow named %q (workflows: %s)", lp.Workflow, wfNames(c.s))
		} else {
			for _, name := range sortedAnyKeys(lp.Inputs) {
				want, ok := w.Inputs[name]
				if !ok {
					c.errorf(p+".inputs."+name, "workflow %q has no input %q (inputs: %s)", w.Name, name, keyList(w.Inputs))
					continue
				}
				if err := CheckLiteral(lp.Inputs[name], want); err != nil {
					c.errorf(p+".inputs."+name, "%v", err)
				}
			}
			if lp.Schedule != "" {
				for _, name := range sortedKeys(w.Inputs) {
					if _, ok := lp.Inputs[name]; !ok {
						c.errorf(p+".inputs", "scheduled runs have no one to ask: input %q of workflow %q needs a value here", name, w.Name)
					}
				}
			}
		}
		if lp.Schedule != "" {
			if _, err := cronParser().Parse(lp.Schedule); err != nil {
				c.errorf(p+".schedule", "%q is not a cron expression (five fields: minute hour day-of-month month day-of-week, or @daily/@hourly): %v", lp.Schedule, err)
			}
		}
		out = append(out, &Entity{
			Kind: KindLaunchPlan, Project: c.s.Project, Name: lp.Name, Version: b.Version,
			LaunchPlan: &LaunchPlan{
				Workflow: Ref{Project: c.s.Project, Name: lp.Workflow, Version: b.Version},
				Inputs:   lp.Inputs, Schedule: lp.Schedule,
			},
		})
	}
	return out
}

// findCycle returns the node ids of one cycle, or nil.
func findCycle(w *spec.Workflow, deps map[string][]string) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var cyc []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		ds := append([]string(nil), deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			switch color[d] {
			case grey:
				for i, s := range stack {
					if s == d {
						cyc = append(append([]string(nil), stack[i:]...), d)
						return true
					}
				}
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range w.Nodes {
		if color[n.ID] == white && visit(n.ID) {
			return cyc
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func sortedAnyKeys(m map[string]any) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func keyList(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(m), ", ")
}

func taskNames(s *spec.Spec) string {
	var n []string
	for _, t := range s.Tasks {
		n = append(n, t.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func wfNames(s *spec.Spec) string {
	var n []string
	for _, w := range s.Workflows {
		n = append(n, w.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func nodeIDs(w *spec.Workflow) string {
	var n []string
	for _, x := range w.Nodes {
		n = append(n, x.ID)
	}
	return strings.Join(n, ", ")
}

// lazyRegexp compiles expr on first use, keeping process start-up cheap:
// every linked package's initialisation runs on every command, plan's too.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
