package executor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// ErrInvalidPlan is wrapped by errors about a target that cannot run as
// stored (a binding that does not type-check, a cycle, a bad timeout). The
// registrar refuses such entities at registration; the engine checks again
// because a stored entity is read back from a store it does not own.
var ErrInvalidPlan = errors.New("invalid workflow")

// plan is a target resolved into tasks, in topological order.
type plan struct {
	target   registrar.ID
	workflow *registrar.Ref
	inputs   Interface
	// defaults are launch plan inputs, applied where the caller gave none.
	defaults map[string]any
	outputs  map[string]binding
	nodes    []*planNode
	byID     map[string]*planNode
}

type planNode struct {
	id       string
	ref      registrar.Ref
	task     *registrar.Task
	inputs   Interface
	outputs  Interface
	bindings map[string]binding
	upstream []string
	limits   Limits
	timeout  time.Duration
}

// binding is where a node input (or workflow output) comes from: a
// literal, a workflow input, or an upstream node's output.
type binding struct {
	literal  *Value
	wfInput  string
	node     string
	output   string
	wireText string
}

var bindingRE = regexp.MustCompile(`^\{\{\s*(?:workflow\.inputs\.([A-Za-z0-9_-]+)|([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+))\s*\}\}$`)

func parseBinding(x any, want Type) (binding, error) {
	if s, ok := x.(string); ok {
		if m := bindingRE.FindStringSubmatch(s); m != nil {
			if m[1] != "" {
				return binding{wfInput: m[1], wireText: s}, nil
			}
			return binding{node: m[2], output: m[3], wireText: s}, nil
		}
	}
	v, err := Coerce(want, x)
	if err != nil {
		return binding{}, err
	}
	return binding{literal: &v}, nil
}

// resolve reads the target and every task it runs and checks the wiring.
func resolve(ctx context.Context, s store.Store, pc *platform.Config, id registrar.ID) (*plan, error) {
	st, err := registrar.Get(ctx, s, id)
	if err != nil {
		return nil, err
	}
	id = st.ID
	p := &plan{target: id, byID: map[string]*planNode{}, outputs: map[string]binding{}}
	e := st.Entity
	switch id.Kind {
	case registrar.KindTask:
		if e.Task == nil {
			return nil, fmt.Errorf("%s has no task body: %w", id, ErrInvalidPlan)
		}
		ref := registrar.Ref{Project: id.Project, Name: id.Name, Version: id.Version}
		wf := &registrar.Workflow{Inputs: e.Task.Inputs, Outputs: map[string]string{}}
		n := registrar.Node{ID: id.Name, Task: ref, Inputs: map[string]any{}}
		for in := range e.Task.Inputs {
			n.Inputs[in] = "{{workflow.inputs." + in + "}}"
		}
		for out := range e.Task.Outputs {
			wf.Outputs[out] = "{{" + id.Name + ".outputs." + out + "}}"
		}
		wf.Nodes = []registrar.Node{n}
		tasks := map[registrar.Ref]*registrar.Task{ref: e.Task}
		return p, p.build(ctx, s, pc, id.Domain, wf, tasks)
	case registrar.KindLaunchPlan:
		if e.LaunchPlan == nil {
			return nil, fmt.Errorf("%s has no launch plan body: %w", id, ErrInvalidPlan)
		}
		wref := e.LaunchPlan.Workflow
		wst, err := registrar.Get(ctx, s, registrar.ID{Project: wref.Project, Domain: id.Domain, Kind: registrar.KindWorkflow, Name: wref.Name, Version: wref.Version})
		if err != nil {
			return nil, fmt.Errorf("launch plan %s: %w", id, err)
		}
		p.defaults = e.LaunchPlan.Inputs
		e = wst.Entity
		p.workflow = &wref
	case registrar.KindWorkflow:
		p.workflow = &registrar.Ref{Project: id.Project, Name: id.Name, Version: id.Version}
	default:
		return nil, fmt.Errorf("cannot run a %q", id.Kind)
	}
	if e.Workflow == nil {
		return nil, fmt.Errorf("%s has no workflow body: %w", id, ErrInvalidPlan)
	}
	return p, p.build(ctx, s, pc, id.Domain, e.Workflow, nil)
}

func (p *plan) build(ctx context.Context, s store.Store, pc *platform.Config, domain string, wf *registrar.Workflow, tasks map[registrar.Ref]*registrar.Task) error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(a, ErrInvalidPlan)...))
	}
	var err error
	if p.inputs, err = ParseInterface(wf.Inputs); err != nil {
		return fmt.Errorf("workflow inputs: %w: %w", err, ErrInvalidPlan)
	}
	var dom *platform.Domain
	if pc != nil {
		dom, _ = pc.Domain(domain)
	}
	for _, n := range wf.Nodes {
		if _, dup := p.byID[n.ID]; dup || n.ID == "" || n.ID == "workflow" {
			bad("node %q: duplicate or reserved id", n.ID)
			continue
		}
		t := tasks[n.Task]
		if t == nil {
			st, err := registrar.Get(ctx, s, registrar.ID{Project: n.Task.Project, Domain: domain, Kind: registrar.KindTask, Name: n.Task.Name, Version: n.Task.Version})
			if err != nil {
				return fmt.Errorf("node %q: %w", n.ID, err)
			}
			t = st.Entity.Task
			if t == nil {
				bad("node %q: task %s has no task body", n.ID, n.Task)
				continue
			}
		}
		pn := &planNode{id: n.ID, ref: n.Task, task: t, bindings: map[string]binding{}}
		if pn.inputs, err = ParseInterface(t.Inputs); err != nil {
			bad("node %q: task inputs: %v", n.ID, err)
		}
		if pn.outputs, err = ParseInterface(t.Outputs); err != nil {
			bad("node %q: task outputs: %v", n.ID, err)
		}
		if t.Timeout != "" {
			if pn.timeout, err = time.ParseDuration(t.Timeout); err != nil || pn.timeout < 0 {
				bad("node %q: task timeout %q is not a duration", n.ID, t.Timeout)
			}
		}
		if pn.limits, err = limitsFor(t.Resources, dom); err != nil {
			bad("node %q: %v", n.ID, err)
		}
		for _, in := range sortedKeys(n.Inputs) {
			if _, ok := pn.inputs[in]; !ok {
				bad("node %q: task %s has no input %q", n.ID, n.Task.Name, in)
				continue
			}
			b, err := parseBinding(n.Inputs[in], pn.inputs[in])
			if err != nil {
				bad("node %q: input %q: %v", n.ID, in, err)
				continue
			}
			pn.bindings[in] = b
		}
		for _, in := range sortedKeys(pn.inputs) {
			if _, ok := pn.bindings[in]; !ok {
				bad("node %q: input %q is not bound", n.ID, in)
			}
		}
		p.byID[n.ID] = pn
		p.nodes = append(p.nodes, pn)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Check every binding's source and type, and collect upstream edges.
	check := func(where string, b binding, want Type) {
		switch {
		case b.literal != nil:
		case b.wfInput != "":
			got, ok := p.inputs[b.wfInput]
			if !ok {
				bad("%s: %s: the workflow has no input %q", where, b.wireText, b.wfInput)
			} else if got != want {
				bad("%s: %s is a %s, want %s", where, b.wireText, got, want)
			}
		default:
			src := p.byID[b.node]
			if src == nil {
				bad("%s: %s: no node %q", where, b.wireText, b.node)
				return
			}
			got, ok := src.outputs[b.output]
			if !ok {
				bad("%s: %s: task %s has no output %q", where, b.wireText, src.ref.Name, b.output)
			} else if got != want {
				bad("%s: %s is a %s, want %s", where, b.wireText, got, want)
			}
		}
	}
	for _, n := range p.nodes {
		ups := map[string]bool{}
		for _, in := range sortedKeys(n.bindings) {
			b := n.bindings[in]
			check(fmt.Sprintf("node %q: input %q", n.id, in), b, n.inputs[in])
			if b.node != "" {
				ups[b.node] = true
			}
		}
		n.upstream = sortedKeys(ups)
	}
	for _, o := range sortedKeys(wf.Outputs) {
		b, err := parseBinding(wf.Outputs[o], TypeString)
		if err != nil || b.literal != nil {
			bad("workflow output %q: %q is not a binding", o, wf.Outputs[o])
			continue
		}
		p.outputs[o] = b
		want := TypeString
		if b.wfInput != "" {
			want = p.inputs[b.wfInput]
		} else if src := p.byID[b.node]; src != nil {
			want = src.outputs[b.output]
		}
		check(fmt.Sprintf("workflow output %q", o), b, want)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return p.sortNodes()
}

// sortNodes orders nodes topologically (stable by declaration order) and
// refuses cycles.
func (p *plan) sortNodes() error {
	indeg := map[string]int{}
	down := map[string][]string{}
	for _, n := range p.nodes {
		indeg[n.id] = len(n.upstream)
		for _, u := range n.upstream {
			down[u] = append(down[u], n.id)
		}
	}
	var order []*planNode
	done := map[string]bool{}
	for len(order) < len(p.nodes) {
		progressed := false
		for _, n := range p.nodes {
			if done[n.id] || indeg[n.id] > 0 {
				continue
			}
			done[n.id] = true
			order = append(order, n)
			progressed = true
			for _, d := range down[n.id] {
				indeg[d]--
			}
		}
		if !progressed {
			var cyc []string
			for _, n := range p.nodes {
				if !done[n.id] {
					cyc = append(cyc, n.id)
				}
			}
			sort.Strings(cyc)
			return fmt.Errorf("nodes %v form a cycle: %w", cyc, ErrInvalidPlan)
		}
	}
	p.nodes = order
	return nil
}

// limitsFor applies the domain's default limits to what the task leaves
// unset (a task's request stands in for a missing limit) and clamps the
// result to the domain's ceilings.
func limitsFor(r registrar.Resources, dom *platform.Domain) (Limits, error) {
	pick := func(name string) (string, string) {
		if v := r.Limits[name]; v != "" {
			return v, "limits." + name
		}
		if v := r.Requests[name]; v != "" {
			return v, "requests." + name
		}
		if dom != nil {
			if v := dom.Defaults.Limits[name]; v != "" {
				return v, "domain default " + name
			}
		}
		return "", ""
	}
	var l Limits
	for _, name := range []string{"cpu", "memory"} {
		v, field := pick(name)
		if v == "" {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return l, fmt.Errorf("resources %s %q: %w", field, v, err)
		}
		if dom != nil {
			if c := dom.Ceilings[name]; c != "" {
				cq, err := resource.ParseQuantity(c)
				if err != nil {
					return l, fmt.Errorf("domain %s ceiling %s %q: %w", dom.Name, name, c, err)
				}
				if q.Cmp(cq) > 0 {
					q = cq
				}
			}
		}
		if name == "cpu" {
			l.MilliCPU = q.MilliValue()
		} else {
			l.MemoryBytes = q.Value()
		}
	}
	return l, nil
}
