package registrar

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
)

// maxEntitySize bounds what Get reads for one entity.
const maxEntitySize = 4 << 20

// Stored is an entity as found in a store.
type Stored struct {
	ID       ID
	Entity   *Entity
	Digest   v1.Hash // sha256 of the canonical JSON
	Manifest v1.Descriptor
}

// Get reads one entity. An empty version means the newest registered one
// (by registration time recorded in the manifest annotations).
func Get(ctx context.Context, s store.Store, id ID) (*Stored, error) {
	if id.Version == "" {
		v, err := Latest(ctx, s, id)
		if err != nil {
			return nil, err
		}
		id.Version = v
	}
	m, desc, err := store.GetArtifact(ctx, s, id.Repo(), id.Version)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", id.Kind, id, err)
	}
	if m.ArtifactType != MediaTypeEntity || len(m.Layers) != 1 {
		return nil, fmt.Errorf("reading %s %s: manifest %s is not a runway entity", id.Kind, id, desc.Digest)
	}
	b, err := store.ReadBlob(ctx, s, id.Repo(), m.Layers[0].Digest, maxEntitySize)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", id.Kind, id, err)
	}
	e, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", id.Kind, id, err)
	}
	if e.Kind != id.Kind || e.Name != id.Name || e.Version != id.Version || e.Project != id.Project {
		return nil, fmt.Errorf("reading %s: stored entity says %s/%s/%s@%s", id, e.Project, e.Kind, e.Name, e.Version)
	}
	return &Stored{ID: id, Entity: e, Digest: m.Layers[0].Digest, Manifest: desc}, nil
}

// Versions lists the versions registered for an entity, oldest first by
// registration time (tags that are not versions, such as "active", are left
// out). The registration time is the registration record's; an entity
// without one (a promoted copy, or one registered before records existed)
// is placed by its manifest's created time.
func Versions(ctx context.Context, s store.Store, id ID) ([]string, error) {
	tags, err := s.Tags(ctx, id.Repo())
	if err != nil {
		return nil, fmt.Errorf("listing versions of %s/%s in %s: %w", id.Kind, id.Name, id.Domain, err)
	}
	type tv struct {
		tag string
		at  time.Time
	}
	var vs []tv
	for _, t := range tags {
		if !store.IsVersionTag(t) {
			continue
		}
		m, desc, err := store.GetArtifact(ctx, s, id.Repo(), t)
		if err != nil {
			return nil, err
		}
		at, ok, err := RegisteredAt(ctx, s, id.Repo(), desc.Digest)
		if err != nil {
			return nil, err
		}
		if !ok {
			at, _ = time.Parse(time.RFC3339Nano, m.Annotations[store.AnnotationCreated])
		}
		vs = append(vs, tv{t, at})
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if !vs[i].at.Equal(vs[j].at) {
			return vs[i].at.Before(vs[j].at)
		}
		return vs[i].tag < vs[j].tag
	})
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.tag
	}
	return out, nil
}

// Latest returns the newest registered version of an entity.
func Latest(ctx context.Context, s store.Store, id ID) (string, error) {
	vs, err := Versions(ctx, s, id)
	if err != nil {
		return "", err
	}
	if len(vs) == 0 {
		return "", fmt.Errorf("%s %q has no versions in domain %s: %w", id.Kind, id.Name, id.Domain, store.ErrNotFound)
	}
	return vs[len(vs)-1], nil
}

// List returns every entity of a project's domain (optionally of one kind),
// each at every version, sorted by kind, name and version.
func List(ctx context.Context, s store.Store, project, domain string, kind Kind) ([]*Stored, error) {
	prefix := store.DomainPrefix(project, domain)
	repos, err := s.Repositories(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	var out []*Stored
	for _, r := range repos {
		rest := strings.TrimPrefix(r, prefix)
		parts := strings.Split(rest, "/")
		if len(parts) != 2 {
			continue // cache, execution, ...
		}
		k, err := ParseKind(parts[0])
		if err != nil || (kind != "" && k != kind) {
			continue
		}
		id := ID{Project: project, Domain: domain, Kind: k, Name: parts[1]}
		vs, err := Versions(ctx, s, id)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			id.Version = v
			st, err := Get(ctx, s, id)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].ID, out[j].ID
		if a.Kind != b.Kind {
			return kindOrder(a.Kind) < kindOrder(b.Kind)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return false // keep registration order
	})
	return out, nil
}

func kindOrder(k Kind) int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return len(Kinds)
}

// IsNotFound reports whether err means something does not exist.
func IsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
