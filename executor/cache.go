package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// MediaTypeCacheEntry is the media type of a cached result's layer and the
// artifactType of its manifest.
const MediaTypeCacheEntry = "application/vnd.runway.cache.v1+json"

// CacheKeyInput is everything a cache key is computed from. Two task runs
// with equal CacheKeyInput produce the same outputs by contract.
type CacheKeyInput struct {
	Project      string `json:"project"`
	Domain       string `json:"domain"`
	Task         string `json:"task"`
	CacheVersion string `json:"cacheVersion"`
	// Interface is "inputs:<signature>;outputs:<signature>".
	Interface string `json:"interface"`
	// Inputs are the canonical texts of the input values (file and dir
	// values by digest).
	Inputs map[string]string `json:"inputs"`
	// Bundle and Image are only set for code-aware caching.
	Bundle string `json:"bundle,omitempty"`
	Image  string `json:"image,omitempty"`
}

// CacheKey computes the key of a task run, or "" when the task is not
// cached. The key is the hex sha256 of the canonical JSON of CacheKeyInput,
// as in DESIGN.md: project, domain, task name, cache version, interface
// signature and canonical input values, plus bundle and image digests when
// the task opts into code-aware keys.
func CacheKey(project, domain string, taskName string, t *registrar.Task, inputs Values) (string, error) {
	if t.Cache == nil {
		return "", nil
	}
	in, err := ParseInterface(t.Inputs)
	if err != nil {
		return "", err
	}
	out, err := ParseInterface(t.Outputs)
	if err != nil {
		return "", err
	}
	k := CacheKeyInput{
		Project:      project,
		Domain:       domain,
		Task:         taskName,
		CacheVersion: t.Cache.Version,
		Interface:    "inputs:" + in.Signature() + ";outputs:" + out.Signature(),
		Inputs:       map[string]string{},
	}
	for n := range in {
		v, ok := inputs[n]
		if !ok {
			return "", fmt.Errorf("computing cache key: input %q has no value", n)
		}
		k.Inputs[n] = v.Text()
	}
	if t.Cache.CodeAware {
		k.Bundle, k.Image = t.Bundle, t.Image
	}
	b, err := registrar.Canonical(k)
	if err != nil {
		return "", fmt.Errorf("computing cache key: %w", err)
	}
	d := store.Digest(b)
	return d.Hex, nil
}

// SchemeKey is CacheKey with every input standing for itself
// ("{{inputs.NAME}}"), or "" when the task is not cached: two versions of a
// task with equal scheme keys give equal keys for equal inputs, so one's
// cached results serve the other; a different scheme key means every result
// is computed again. The plan against production compares them.
func SchemeKey(project, domain, taskName string, t *registrar.Task) (string, error) {
	in := Values{}
	for n := range t.Inputs {
		in[n] = Value{Type: TypeString, Scalar: "{{inputs." + n + "}}"}
	}
	return CacheKey(project, domain, taskName, t, in)
}

// cacheEntry is the stored form of a cached result.
type cacheEntry struct {
	Key       string        `json:"key"`
	Task      registrar.Ref `json:"task"`
	Outputs   Values        `json:"outputs"`
	Execution string        `json:"execution"`
	Node      string        `json:"node"`
	Created   time.Time     `json:"created"`
}

// maxCacheEntrySize bounds a cache entry read.
const maxCacheEntrySize = 4 << 20

// errCorruptEntry marks a cache entry that exists but cannot be used; the
// engine treats it as a miss and overwrites it.
var errCorruptEntry = errors.New("unusable cache entry")

// lookupCache reads a cache entry. It returns (nil, nil) on a miss.
// Because entries are written manifest last, an entry that exists is
// complete; one that does not fit the task's outputs is reported as
// errCorruptEntry.
func lookupCache(ctx context.Context, s store.Store, project, domain, key string, outputs Interface) (*cacheEntry, error) {
	repo := store.CacheRepo(project, domain)
	b, err := readLayer(ctx, s, repo, key, MediaTypeCacheEntry, maxCacheEntrySize)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if errors.Is(err, store.ErrDigestMismatch) {
		return nil, fmt.Errorf("cache entry %s: %w: %w", key, errCorruptEntry, err)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up cache entry %s in %s: %w", key, repo, err)
	}
	e := &cacheEntry{}
	if err := json.Unmarshal(b, e); err != nil {
		return nil, fmt.Errorf("cache entry %s: %w: %w", key, errCorruptEntry, err)
	}
	if err := checkOutputs(outputs, e.Outputs); err != nil {
		return nil, fmt.Errorf("cache entry %s: %w: %w", key, errCorruptEntry, err)
	}
	return e, nil
}

// checkOutputs verifies that vs holds exactly the declared outputs, typed.
func checkOutputs(iface Interface, vs Values) error {
	var errs []error
	for _, n := range sortedKeys(iface) {
		v, ok := vs[n]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("output %q is missing", n))
		case v.Type != iface[n]:
			errs = append(errs, fmt.Errorf("output %q is a %s, want %s", n, v.Type, iface[n]))
		}
	}
	return errors.Join(errs...)
}

// writeCache stores a result. The blobs of file and dir outputs are
// mounted from the execution repository first and the manifest is written
// last, so a reader never sees an entry whose parts are missing.
func writeCache(ctx context.Context, s store.Store, project, domain string, e *cacheEntry) error {
	repo := store.CacheRepo(project, domain)
	refs := blobRefs(e.Outputs)
	for _, r := range refs {
		if err := s.MountBlob(ctx, store.ExecutionRepo(project, domain), repo, r.Digest); err != nil {
			return fmt.Errorf("writing cache entry %s: mounting %s: %w", e.Key, r.Digest, err)
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding cache entry %s: %w", e.Key, err)
	}
	ann := map[string]string{store.AnnotationTask: e.Task.String(), store.AnnotationExecution: e.Execution}
	if err := putManifestWithRefs(ctx, s, repo, e.Key, MediaTypeCacheEntry, b, refs, ann); err != nil {
		return fmt.Errorf("writing cache entry %s: %w", e.Key, err)
	}
	return nil
}
