package registrar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// Kind is an entity kind.
type Kind string

// The entity kinds.
const (
	KindTask       Kind = "task"
	KindWorkflow   Kind = "workflow"
	KindLaunchPlan Kind = "launchplan"
)

// Kinds lists every kind, in registration order (dependencies first).
var Kinds = []Kind{KindTask, KindWorkflow, KindLaunchPlan}

// ParseKind accepts a kind name, also in plural and "launch-plan" forms.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "es"), "s")) {
	case "task":
		return KindTask, nil
	case "workflow":
		return KindWorkflow, nil
	case "launchplan", "launch-plan", "lp":
		return KindLaunchPlan, nil
	}
	return "", fmt.Errorf("unknown kind %q (want task, workflow or launchplan)", s)
}

// ID identifies an entity: (project, domain, kind, name, version).
type ID struct {
	Project string `json:"project"`
	Domain  string `json:"domain"`
	Kind    Kind   `json:"kind"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (id ID) String() string {
	return fmt.Sprintf("%s/%s/%s/%s@%s", id.Project, id.Domain, id.Kind, id.Name, id.Version)
}

// Repo is the store repository of the entity.
func (id ID) Repo() string { return store.EntityRepo(id.Project, id.Domain, string(id.Kind), id.Name) }

// Ref points from one entity to another at a pinned version.
type Ref struct {
	Project string `json:"project"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

func (r Ref) String() string { return r.Project + "/" + r.Name + "@" + r.Version }

// Entity is the stored, immutable form of a task, workflow or launch plan.
// It holds everything that decides its behaviour and nothing that depends
// on the domain it is stored in, so that promotion copies it by digest.
type Entity struct {
	Kind       Kind        `json:"kind"`
	Project    string      `json:"project"`
	Name       string      `json:"name"`
	Version    string      `json:"version"`
	Task       *Task       `json:"task,omitempty"`
	Workflow   *Workflow   `json:"workflow,omitempty"`
	LaunchPlan *LaunchPlan `json:"launchplan,omitempty"`
}

// Task is a compiled task.
type Task struct {
	// Image is the dependency image pinned by digest ("repo@sha256:..."),
	// empty when the project declares no image.
	Image string `json:"image,omitempty"`
	// Bundle is the code bundle's identity (sha256 of the uncompressed tar).
	Bundle    string            `json:"bundle,omitempty"`
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"`
	Inputs    map[string]string `json:"inputs,omitempty"`
	Outputs   map[string]string `json:"outputs,omitempty"`
	Resources Resources         `json:"resources"`
	Cache     *Cache            `json:"cache,omitempty"`
	Retries   int               `json:"retries"`
	// Timeout is a Go duration in canonical form ("10m0s"), or "".
	Timeout string `json:"timeout,omitempty"`
}

// Resources are requests and limits as canonical Kubernetes quantities.
type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// Cache settings of a task; nil means never cached.
type Cache struct {
	Version   string `json:"version"`
	CodeAware bool   `json:"codeAware,omitempty"`
}

// Workflow is a compiled workflow: its nodes reference tasks at pinned versions.
type Workflow struct {
	Inputs  map[string]string `json:"inputs,omitempty"`
	Nodes   []Node            `json:"nodes"`
	Outputs map[string]string `json:"outputs,omitempty"`
}

// Node is one task run in a workflow. Input values are literals, or
// bindings "{{workflow.inputs.x}}" / "{{node.outputs.y}}".
type Node struct {
	ID     string         `json:"id"`
	Task   Ref            `json:"task"`
	Inputs map[string]any `json:"inputs,omitempty"`
}

// LaunchPlan is a compiled launch plan.
type LaunchPlan struct {
	Workflow Ref            `json:"workflow"`
	Inputs   map[string]any `json:"inputs,omitempty"`
	Schedule string         `json:"schedule,omitempty"`
}

// MediaTypeEntity is the media type of an entity's canonical JSON layer and
// the artifactType of its manifest.
const MediaTypeEntity = "application/vnd.runway.entity.v1+json"

// Canonical renders v as canonical JSON: keys sorted, no insignificant
// whitespace, no HTML escaping, numbers as written.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil { // maps are written with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Canonical returns the entity's canonical JSON.
func (e *Entity) Canonical() ([]byte, error) { return Canonical(e) }

// Digest is the sha256 of the canonical JSON.
func (e *Entity) Digest() (v1.Hash, error) {
	b, err := e.Canonical()
	if err != nil {
		return v1.Hash{}, err
	}
	return store.Digest(b), nil
}

// ID returns the entity's identity in a domain.
func (e *Entity) ID(domain string) ID {
	return ID{Project: e.Project, Domain: domain, Kind: e.Kind, Name: e.Name, Version: e.Version}
}

// Diff lists the fields that differ between two entities, as
// "path: old -> new" lines, sorted.
func Diff(a, b *Entity) []string {
	var ta, tb any
	ja, _ := Canonical(a)
	jb, _ := Canonical(b)
	_ = json.Unmarshal(ja, &ta)
	_ = json.Unmarshal(jb, &tb)
	var out []string
	diffValue("", ta, tb, &out)
	sort.Strings(out)
	return out
}

func diffValue(path string, a, b any, out *[]string) {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		for k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValue(p, ma[k], mb[k], out)
		}
		return
	}
	sa, okA := a.([]any)
	sb, okB := b.([]any)
	if okA && okB && len(sa) == len(sb) {
		for i := range sa {
			diffValue(fmt.Sprintf("%s[%d]", path, i), sa[i], sb[i], out)
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		*out = append(*out, fmt.Sprintf("%s: %s -> %s", path, short(ja), short(jb)))
	}
}

func short(b []byte) string {
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// Decode parses an entity's canonical JSON.
func Decode(b []byte) (*Entity, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	e := &Entity{}
	if err := dec.Decode(e); err != nil {
		return nil, fmt.Errorf("decoding entity: %w", err)
	}
	return e, nil
}
