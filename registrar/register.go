package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/store"
)

// ErrConflict means an identity already exists with a different digest.
// Registered entities are immutable: nothing is ever overwritten.
var ErrConflict = errors.New("entity already registered with different content")

// ConflictError says which identity conflicts, with both digests and the
// fields that differ.
type ConflictError struct {
	ID       ID
	Existing v1.Hash
	New      v1.Hash
	Fields   []string // "path: old -> new"
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %s is already registered with digest %s; this registration has digest %s. Registered versions are immutable: commit the change to get a new version.\n  differing fields (registered -> new):\n    %s",
		e.ID.Kind, e.ID, e.Existing, e.New, strings.Join(e.Fields, "\n    "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Status of one entity after a registration.
type Status string

// Registration statuses.
const (
	StatusCreated   Status = "created"
	StatusUnchanged Status = "unchanged"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "not written" // an earlier kind failed
	StatusPlanned   Status = "would create"
)

// Result is the outcome for one entity.
type Result struct {
	ID     ID      `json:"id"`
	Digest v1.Hash `json:"digest"`
	Status Status  `json:"status"`
	Error  string  `json:"error,omitempty"`
}

// Registrar writes entities into a store.
type Registrar struct {
	Store store.Store
	// Parallelism bounds concurrent writes (default 8).
	Parallelism int
	// Now is the clock of registration records (default time.Now).
	Now func() time.Time
	// Created is the commit time of the version, the manifests'
	// org.opencontainers.image.created (see record.go). Zero: the commit
	// time DetectVersion or ResolveCommit found for the version, else none.
	Created time.Time
	// Locker serialises writers across processes (default: the Locker
	// attached to Store, see lock.For).
	Locker lock.Locker
	Log    *slog.Logger
	// DryRun checks what would be written without writing.
	DryRun bool
}

// RegisterError reports a registration that did not write everything: which
// entities were written, which failed and which were not attempted.
type RegisterError struct {
	Results []Result
	Errs    []error
}

func (e *RegisterError) Error() string {
	var written, failed, skipped []string
	for _, r := range e.Results {
		switch r.Status {
		case StatusCreated, StatusUnchanged:
			written = append(written, fmt.Sprintf("%s/%s", r.ID.Kind, r.ID.Name))
		case StatusFailed:
			failed = append(failed, fmt.Sprintf("%s/%s", r.ID.Kind, r.ID.Name))
		case StatusSkipped:
			skipped = append(skipped, fmt.Sprintf("%s/%s", r.ID.Kind, r.ID.Name))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "registration incomplete: %d stored, %d failed, %d not attempted", len(written), len(failed), len(skipped))
	if len(written) > 0 {
		fmt.Fprintf(&b, "\n  stored (written now or already there; safe to keep): %s", strings.Join(written, ", "))
	}
	if len(failed) > 0 {
		fmt.Fprintf(&b, "\n  failed: %s", strings.Join(failed, ", "))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\n  not attempted: %s", strings.Join(skipped, ", "))
	}
	conflict := false
	for _, err := range e.Errs {
		fmt.Fprintf(&b, "\n  %v", err)
		conflict = conflict || errors.Is(err, ErrConflict)
	}
	if !conflict {
		b.WriteString("\nrunning the same registration again completes it")
	}
	return b.String()
}

// Unwrap exposes the individual errors (errors.Is(err, ErrConflict) works).
func (e *RegisterError) Unwrap() []error { return e.Errs }

// Register writes ents into domain. Kinds are written in order (tasks,
// then workflows, then launch plans) so that a failure never leaves a
// workflow whose tasks are missing; within a kind, writes run in parallel.
// An identity that exists with the same digest is a no-op; with another
// digest it is a ConflictError. On any failure the returned *RegisterError
// lists exactly what was written.
func (r *Registrar) Register(ctx context.Context, domain string, ents []*Entity) ([]Result, error) {
	par := r.Parallelism
	if par <= 0 {
		par = 8
	}
	if par > 4*runtime.NumCPU()+8 {
		par = 4*runtime.NumCPU() + 8
	}
	results := make([]Result, len(ents))
	for i, e := range ents {
		results[i] = Result{ID: e.ID(domain), Status: StatusSkipped}
	}
	if len(ents) > 0 && !r.DryRun {
		// One writer at a time per version: its content wins every entity
		// or, if another's is there, every entity conflicts.
		held, err := r.locker().Acquire(ctx, lock.VersionKey(ents[0].Project, domain, ents[0].Version))
		if err != nil {
			return results, &RegisterError{Results: results, Errs: []error{fmt.Errorf("locking %s@%s in %s: %w", ents[0].Project, ents[0].Version, domain, err)}}
		}
		defer held.Release(context.WithoutCancel(ctx))
		ctx = held.Context()
	}
	var errs []error
	var mu sync.Mutex
	for _, k := range Kinds {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(par)
		for i, e := range ents {
			if e.Kind != k {
				continue
			}
			g.Go(func() error {
				res, err := r.registerOne(gctx, domain, e)
				mu.Lock()
				defer mu.Unlock()
				results[i] = res
				if err != nil {
					results[i].Status = StatusFailed
					results[i].Error = err.Error()
					errs = append(errs, err)
				}
				return nil // keep going within the kind: report every conflict
			})
		}
		_ = g.Wait()
		if len(errs) > 0 {
			return results, &RegisterError{Results: results, Errs: errs}
		}
		if err := ctx.Err(); err != nil {
			return results, &RegisterError{Results: results, Errs: []error{err}}
		}
	}
	return results, nil
}

func (r *Registrar) registerOne(ctx context.Context, domain string, e *Entity) (Result, error) {
	id := e.ID(domain)
	raw, err := e.Canonical()
	if err != nil {
		return Result{ID: id}, fmt.Errorf("rendering %s %s: %w", id.Kind, id, err)
	}
	d := store.Digest(raw)
	res := Result{ID: id, Digest: d}
	// Every write to the entity's repository (its version tags, the
	// records that share its referrers index) is made under one lock that
	// holds across processes; writes use the lock's context, so a lost
	// lock stops them.
	held, err := r.locker().Acquire(ctx, lock.EntityKey(id.Project, id.Domain, string(id.Kind), id.Name))
	if err != nil {
		return res, fmt.Errorf("locking %s: %w", id, err)
	}
	defer held.Release(context.WithoutCancel(ctx))
	ctx = held.Context()

	existing, err := Get(ctx, r.Store, id)
	switch {
	case err == nil:
		if existing.Digest == d {
			res.Status = StatusUnchanged
			return res, nil
		}
		return res, &ConflictError{ID: id, Existing: existing.Digest, New: d, Fields: Diff(existing.Entity, e)}
	case !errors.Is(err, store.ErrNotFound):
		return res, lock.LostOr(ctx, fmt.Errorf("checking whether %s exists: %w", id, err))
	}
	if r.DryRun {
		res.Status = StatusPlanned
		return res, nil
	}
	art := store.Artifact{
		ArtifactType: MediaTypeEntity,
		Layers:       []store.Blob{{MediaType: MediaTypeEntity, Data: raw}},
		Annotations:  r.annotations(e, d),
	}
	man, err := store.BuildManifest(art)
	if err != nil {
		return res, fmt.Errorf("rendering the manifest of %s %s: %w", id.Kind, id, err)
	}
	// The record first, then the tag: a run that dies in between leaves
	// a record of a manifest no tag names (invisible, and reused by the
	// next run), never an entity without its registration time.
	desc := v1.Descriptor{MediaType: store.MediaTypeOCIManifest, Size: int64(len(man)), Digest: store.Digest(man)}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if err := writeRegistration(ctx, r.Store, id.Repo(), desc, now()); err != nil {
		return res, lock.LostOr(ctx, fmt.Errorf("writing %s %s to %s: %w", id.Kind, id, r.Store, err))
	}
	if _, err = store.PutArtifact(ctx, r.Store, id.Repo(), id.Version, art); err != nil {
		return res, lock.LostOr(ctx, fmt.Errorf("writing %s %s to %s: %w", id.Kind, id, r.Store, err))
	}
	// Read back: the tag must hold our content (a writer that ignored the
	// lock, or a registry that lost the write, shows here).
	got, err := Get(ctx, r.Store, id)
	if err != nil {
		return res, lock.LostOr(ctx, fmt.Errorf("reading back %s: %w", id, err))
	}
	if got.Digest != d {
		return res, &ConflictError{ID: id, Existing: got.Digest, New: d, Fields: Diff(got.Entity, e)}
	}
	if err := lock.LostOr(ctx, nil); err != nil {
		return res, err
	}
	res.Status = StatusCreated
	if r.Log != nil {
		r.Log.Debug("registered", "entity", id.String(), "digest", d.String())
	}
	return res, nil
}

// annotations are the entity manifest's annotations: all derived from the
// content and the commit, so identical content gives identical bytes.
func (r *Registrar) annotations(e *Entity, d v1.Hash) map[string]string {
	a := map[string]string{
		store.AnnotationKind:         string(e.Kind),
		store.AnnotationName:         e.Name,
		store.AnnotationVersion:      e.Version,
		store.AnnotationEntityDigest: d.String(),
	}
	created := r.Created
	if created.IsZero() {
		created, _ = commitTimeOf(e.Version)
	}
	if !created.IsZero() {
		a[store.AnnotationCreated] = created.UTC().Format(time.RFC3339Nano)
	}
	return a
}

func (r *Registrar) locker() lock.Locker {
	if r.Locker != nil {
		return r.Locker
	}
	return lock.For(r.Store)
}
