package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/runway-ci/runway/internal/gitdiff"
	"github.com/runway-ci/runway/internal/pathmatch"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
)

// Decision is what a change needs. Priority: Image > Bundle > None.
type Decision string

// Decisions.
const (
	// Image: dependencies changed and no image with the new dependency hash
	// exists, so one is built (and the code shipped as a bundle over it).
	Image Decision = "image"
	// Bundle: code that reaches the bundle changed; the existing image is
	// reused and a new bundle is fast-registered.
	Bundle Decision = "bundle"
	// None: nothing that reaches an entity changed. The head SHA is still
	// registered, reusing the existing image and bundle.
	None Decision = "none"
)

func rank(d Decision) int {
	switch d {
	case Image:
		return 2
	case Bundle:
		return 1
	}
	return 0
}

// Reason explains the effect of one changed path (or, with an empty Path,
// of the store: "the image already exists").
type Reason struct {
	Path   string   `json:"path"`
	Rule   string   `json:"rule"`
	Effect Decision `json:"effect"`
}

// ChangedPath is one path of the three-dot diff.
type ChangedPath struct {
	Path   string       `json:"path"`
	Change gitdiff.Kind `json:"change"`
}

// ImageInfo is the dependency image the head needs.
type ImageInfo struct {
	Ref    string `json:"ref"`
	Exists bool   `json:"exists"`
	Hash   string `json:"hash"`
}

// BundleInfo is the code bundle of the head tree, when one is already built
// (Built). Plan never builds it: see doc.go.
type BundleInfo struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Files  int    `json:"files"`
	Built  bool   `json:"built"`
}

// Result is a plan. Its JSON field names are stable.
type Result struct {
	Decision  Decision      `json:"decision"`
	Reasons   []Reason      `json:"reasons"`
	Changed   []ChangedPath `json:"changed"`
	Project   string        `json:"project"`
	Base      string        `json:"base"`
	Head      string        `json:"head"`
	MergeBase string        `json:"mergeBase"`
	HeadTree  string        `json:"headTree"`
	Image     ImageInfo     `json:"image"`
	Bundle    BundleInfo    `json:"bundle"`

	// Spec is runway.yaml at head, for the steps that follow.
	Spec *spec.Spec `json:"-"`
	// DependencyFiles are the files matching image.dependencies at head,
	// sorted by path: what the dependency hash covers.
	DependencyFiles []gitdiff.File `json:"-"`
}

// Errors callers branch on; gitdiff's errors (ErrUnknownRevision,
// ErrNoMergeBase, ErrNotRepository) come through wrapped as well.
var (
	// ErrNoSpec: runway.yaml does not exist at the head revision.
	ErrNoSpec = errors.New("no " + spec.FileName)
	// ErrBadSpec: runway.yaml at the head revision cannot be parsed.
	ErrBadSpec = errors.New("invalid " + spec.FileName)
)

// IgnoreFile is the root ignore file that takes paths out of the bundle.
const IgnoreFile = ".runwayignore"

// Plan diffs merge-base(base, head)..head in the repository containing
// repoDir and decides what the change needs: a new dependency image, a new
// code bundle, or neither.
func Plan(ctx context.Context, repoDir, base, head string, opts ...Option) (*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r, err := gitdiff.Open(repoDir)
	if err != nil {
		return nil, fmt.Errorf("planning %s...%s: %w", base, head, err)
	}
	defer r.Close()
	diff, err := r.ChangedPaths(ctx, base, head)
	if err != nil {
		return nil, fmt.Errorf("planning %s...%s: %w", base, head, err)
	}
	o.log.DebugContext(ctx, "plan: diff", "changed", len(diff.Changes), "elapsed", time.Since(start))

	res := &Result{
		Base:      diff.Base.String(),
		Head:      diff.Head.String(),
		MergeBase: diff.MergeBase.String(),
		HeadTree:  diff.HeadTree.String(),
		Changed:   make([]ChangedPath, len(diff.Changes)),
		Reasons:   make([]Reason, 0, len(diff.Changes)+1),
	}
	for i, c := range diff.Changes {
		res.Changed[i] = ChangedPath{Path: c.Path, Change: c.Kind}
	}

	headSpec, err := readSpec(r, o, diff.HeadTree, head, diff.Head)
	if err != nil {
		return nil, err
	}
	res.Spec, res.Project = headSpec, headSpec.Project
	if err := validGlobs(headSpec); err != nil {
		return nil, fmt.Errorf("%s at %q (%s): %w: %w", spec.FileName, head, diff.Head, ErrBadSpec, err)
	}
	ignore, err := readIgnore(r, diff.HeadTree)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %q: %w", IgnoreFile, head, err)
	}

	res.DependencyFiles, err = dependencyFiles(ctx, r, diff.HeadTree, headSpec.Image.Dependencies)
	if err != nil {
		return nil, fmt.Errorf("listing dependency files at %q: %w", head, err)
	}
	imageSectionChanged := false
	for _, c := range diff.Changes {
		if c.Path == spec.FileName {
			if imageSectionChanged, err = specMovesHash(ctx, r, o, diff, headSpec, res.DependencyFiles); err != nil {
				return nil, fmt.Errorf("comparing the image section of %s with the merge base: %w", spec.FileName, err)
			}
		}
	}

	cl := newClassifier(headSpec, o.excludes, ignore)
	reachesBundle := false
	for _, c := range diff.Changes {
		rs, inBundle := cl.classify(c.Path, imageSectionChanged)
		res.Reasons = append(res.Reasons, rs)
		reachesBundle = reachesBundle || inBundle
	}

	res.Image.Hash = DependencyHash(headSpec.Image, res.DependencyFiles)
	res.Image.Ref = store.ImageRepo(headSpec.Project) + ":" + store.ImageTag(res.Image.Hash)
	if o.store != nil {
		if res.Image.Exists, err = exists(ctx, o.store, store.ImageRepo(headSpec.Project), store.ImageTag(res.Image.Hash)); err != nil {
			return nil, err
		}
		if res.Bundle, err = builtBundle(ctx, o.store, headSpec.Project, res.HeadTree); err != nil {
			return nil, err
		}
	}

	res.Decision = None
	for _, rs := range res.Reasons {
		if rank(rs.Effect) > rank(res.Decision) {
			res.Decision = rs.Effect
		}
	}
	if res.Decision == Image && res.Image.Exists {
		// A second branch with the same lockfile: nothing to rebuild.
		res.Decision = None
		if reachesBundle {
			res.Decision = Bundle
		}
		res.Reasons = append(res.Reasons, Reason{
			Rule:   fmt.Sprintf("image %s already exists in %s: dependencies changed but nothing needs rebuilding", res.Image.Ref, o.store),
			Effect: res.Decision,
		})
	}
	o.log.DebugContext(ctx, "plan: done", "decision", res.Decision, "elapsed", time.Since(start))
	return res, nil
}

// readSpec reads and parses runway.yaml from tree.
func readSpec(r *gitdiff.Repo, o *options, tree plumbing.Hash, rev string, commit plumbing.Hash) (*spec.Spec, error) {
	b, err := r.ReadFile(tree, spec.FileName)
	if errors.Is(err, gitdiff.ErrPathNotFound) {
		return nil, fmt.Errorf("%s not found at the root of %q (commit %s): %w", spec.FileName, rev, commit, ErrNoSpec)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s at %q (commit %s): %w", spec.FileName, rev, commit, err)
	}
	s, err := o.parse(b)
	if err != nil {
		return nil, fmt.Errorf("parsing %s at %q (commit %s): %w: %w", spec.FileName, rev, commit, ErrBadSpec, err)
	}
	if s == nil {
		return nil, fmt.Errorf("parsing %s at %q (commit %s): %w: parser returned nothing", spec.FileName, rev, commit, ErrBadSpec)
	}
	if s.Project == "" {
		return nil, fmt.Errorf("%s at %q (commit %s): %w: project is not set", spec.FileName, rev, commit, ErrBadSpec)
	}
	return s, nil
}

func validGlobs(s *spec.Spec) error {
	for i, g := range s.Image.Dependencies {
		if err := pathmatch.Valid(g); err != nil {
			return fmt.Errorf("image.dependencies[%d]: %w", i, err)
		}
	}
	for i, g := range s.Bundle.Exclude {
		if err := pathmatch.Valid(g); err != nil {
			return fmt.Errorf("bundle.exclude[%d]: %w", i, err)
		}
	}
	return nil
}

func readIgnore(r *gitdiff.Repo, tree plumbing.Hash) (*pathmatch.Ignore, error) {
	b, err := r.ReadFile(tree, IgnoreFile)
	if errors.Is(err, gitdiff.ErrPathNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return pathmatch.ParseIgnore(bytes.NewReader(b))
}

// specMovesHash reports whether the runway.yaml change alone moves the
// dependency hash: the merge base's image section, applied to the head's
// files, gives another hash than the head's. Reordering or adding globs that
// match nothing new, or editing tasks, does not; changing the base image,
// install, env, or a glob that now matches other files does. A spec missing
// or unreadable at the merge base counts as moving it.
func specMovesHash(ctx context.Context, r *gitdiff.Repo, o *options, diff *gitdiff.Result, head *spec.Spec, headFiles []gitdiff.File) (bool, error) {
	b, err := r.ReadFile(diff.BaseTree, spec.FileName)
	if err != nil {
		return true, nil //nolint:nilerr // missing or unreadable at the merge base counts as moving the hash (see above)
	}
	old, err := o.parse(b)
	if err != nil || old == nil {
		return true, nil //nolint:nilerr // so does a spec that does not parse there
	}
	oldFiles, err := dependencyFiles(ctx, r, diff.HeadTree, old.Image.Dependencies)
	if err != nil {
		return false, err
	}
	return DependencyHash(old.Image, oldFiles) != DependencyHash(head.Image, headFiles), nil
}

func exists(ctx context.Context, s Store, repo, tag string) (bool, error) {
	_, err := s.HeadManifest(ctx, repo, tag)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return false, fmt.Errorf("checking %s:%s in %s: %w", repo, tag, s, err)
}

// builtBundle reads the bundle fastreg built from the head tree, if any.
func builtBundle(ctx context.Context, s Store, project, tree string) (BundleInfo, error) {
	repo, tag := store.BundleRepo(project), store.BundleTreeTag(tree)
	raw, _, err := s.GetManifest(ctx, repo, tag)
	if errors.Is(err, store.ErrNotFound) {
		return BundleInfo{}, nil
	}
	if err != nil {
		return BundleInfo{}, fmt.Errorf("checking bundle %s:%s in %s: %w", repo, tag, s, err)
	}
	var m store.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return BundleInfo{}, fmt.Errorf("reading bundle manifest %s:%s: %w", repo, tag, err)
	}
	bi := BundleInfo{Built: true, Digest: m.Annotations[store.AnnotationBundleDigest]}
	bi.Size, _ = strconv.ParseInt(m.Annotations[store.AnnotationBundleSize], 10, 64)
	bi.Files, _ = strconv.Atoi(m.Annotations[store.AnnotationBundleFiles])
	if bi.Size == 0 {
		for _, l := range m.Layers {
			bi.Size += l.Size
		}
	}
	return bi, nil
}
