// Package spec holds the shapes of runway.yaml (owned by the user team) and
// parses it strictly: unknown fields are errors and every error carries the
// file and line, also through YAML anchors and aliases. Semantic checks
// (names, references, types, resources against ceilings) live in registrar,
// which is the package the issue names for spec loading; this package is the
// shared, dependency-free part that fastreg, packager and executor also read.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package spec

// FileName is the name of the spec file at a repository's root.
const FileName = "runway.yaml"

// Spec is runway.yaml.
type Spec struct {
	Project     string       `yaml:"project" json:"project"`
	Image       Image        `yaml:"image" json:"image"`
	Bundle      Bundle       `yaml:"bundle" json:"bundle"`
	Tasks       []Task       `yaml:"tasks" json:"tasks"`
	Workflows   []Workflow   `yaml:"workflows" json:"workflows"`
	LaunchPlans []LaunchPlan `yaml:"launchplans" json:"launchplans"`

	// Extensions holds top-level keys starting with "x-", the place for
	// YAML anchors shared by several entities (as in docker-compose).
	// Parse rejects any other unknown key.
	Extensions map[string]any `yaml:",inline" json:"-"`

	// Lines maps a field path ("tasks[0].resources.limits.cpu") to the
	// line it was written on. Filled by Parse.
	Lines LineMap `yaml:"-" json:"-"`
	// Via maps a field path to the line of the alias that brought its value
	// in, for values written under an anchor elsewhere.
	Via LineMap `yaml:"-" json:"-"`
	// File is the path the spec was read from.
	File string `yaml:"-" json:"-"`
}

// Image is the recipe of the dependency image.
type Image struct {
	Base         string            `yaml:"base" json:"base"`
	Dependencies []string          `yaml:"dependencies" json:"dependencies"`
	Install      []string          `yaml:"install" json:"install"`
	Env          map[string]string `yaml:"env" json:"env"`
}

// Bundle holds the code bundle rules.
type Bundle struct {
	Exclude []string `yaml:"exclude" json:"exclude"`
}

// Task is one containerised step.
type Task struct {
	Name      string            `yaml:"name" json:"name"`
	Command   []string          `yaml:"command" json:"command"`
	Inputs    map[string]string `yaml:"inputs" json:"inputs"`   // name -> type
	Outputs   map[string]string `yaml:"outputs" json:"outputs"` // name -> type
	Env       map[string]string `yaml:"env" json:"env"`
	Resources Resources         `yaml:"resources" json:"resources"`
	Cache     *Cache            `yaml:"cache" json:"cache"`
	Retries   int               `yaml:"retries" json:"retries"`
	Timeout   string            `yaml:"timeout" json:"timeout"`
}

// Resources are Kubernetes-style requests and limits ("cpu", "memory").
type Resources struct {
	Requests map[string]string `yaml:"requests" json:"requests"`
	Limits   map[string]string `yaml:"limits" json:"limits"`
}

// Cache opts a task into result caching.
type Cache struct {
	Version string `yaml:"version" json:"version"`
	// CodeAware adds the bundle and image digests to the cache key.
	CodeAware bool `yaml:"codeAware" json:"codeAware"`
}

// Workflow is a DAG of task nodes.
type Workflow struct {
	Name    string            `yaml:"name" json:"name"`
	Inputs  map[string]string `yaml:"inputs" json:"inputs"` // name -> type
	Nodes   []Node            `yaml:"nodes" json:"nodes"`
	Outputs map[string]string `yaml:"outputs" json:"outputs"` // name -> binding
}

// Node runs a task inside a workflow. Task is a local task name or a pinned
// cross-project reference "project/name@sha".
type Node struct {
	ID     string         `yaml:"id" json:"id"`
	Task   string         `yaml:"task" json:"task"`
	Inputs map[string]any `yaml:"inputs" json:"inputs"` // name -> literal or "{{...}}" binding
}

// LaunchPlan binds a workflow to fixed inputs and an optional schedule.
type LaunchPlan struct {
	Name     string         `yaml:"name" json:"name"`
	Workflow string         `yaml:"workflow" json:"workflow"`
	Inputs   map[string]any `yaml:"inputs" json:"inputs"`
	Schedule string         `yaml:"schedule" json:"schedule"`
}

// Types a task or workflow interface may use.
var Types = []string{"string", "int", "float", "bool", "file", "dir"}

// IsType reports whether t is a known interface type.
func IsType(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}
