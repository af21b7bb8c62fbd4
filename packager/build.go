package packager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/lock"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
)

// Layer roles: values of store.AnnotationLayer, which names the role of a
// layer runway added on its descriptor, and of Progress.Layer. Every image
// manifest also carries store.AnnotationBaseName and, when known,
// store.AnnotationBaseDigest, AnnotationRevision and AnnotationSource.
const (
	LayerDependencies = "dependencies"
	LayerRunway       = "runway"
)

// ErrInvalidRequest is wrapped by errors about a Request that cannot be
// built, before anything is done.
var ErrInvalidRequest = errors.New("invalid image build request")

// Request is one dependency image to build.
type Request struct {
	// Project names the image repository (store.ImageRepo).
	Project string
	// Image is runway.yaml's image recipe.
	Image spec.Image
	// Hash is the dependency hash computed by the plan step (lowercase
	// hex); the image is tagged store.ImageTag(Hash). Build does not
	// recompute or check it.
	Hash string
	// RepoDir is the checked-out repository; the install command runs there.
	RepoDir string
	// Revision is the git commit SHA, recorded as
	// org.opencontainers.image.revision (omitted when empty).
	Revision string
	// Source is the repository URL, recorded as
	// org.opencontainers.image.source (omitted when empty).
	Source string
	// RunwayBinary is the runway executable to put at /usr/local/bin/runway.
	// Empty means $RUNWAY_BINARY (EnvRunwayBinary), else the running
	// executable (os.Executable). It must be statically linked.
	RunwayBinary string
}

// Result describes the image under the dependency tag.
type Result struct {
	Repo string // store.ImageRepo(Project)
	Tag  string // store.ImageTag(Hash)
	// Descriptor is the image manifest's descriptor (digest, size, media type).
	Descriptor v1.Descriptor
	// Existed is true when the tag was already there: nothing was built or
	// pushed, and the fields below are empty.
	Existed bool

	// Base is the base reference fully qualified, BaseDigest what it
	// resolved to.
	Base       string
	BaseDigest v1.Hash
	// Dependencies is the dependency layer's descriptor, nil when the
	// install command left nothing (or there is none).
	Dependencies *v1.Descriptor
	// Runway is the runway layer's descriptor.
	Runway v1.Descriptor
}

var (
	hashPattern = regexp.MustCompile(`^[0-9a-f]{1,64}$`)
	// projectPattern is one OCI repository path component.
	projectPattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
)

func (r Request) validate() error {
	var errs []error
	if r.Project == "" {
		errs = append(errs, errors.New("project is empty"))
	} else if !projectPattern.MatchString(r.Project) {
		errs = append(errs, fmt.Errorf("project %q is not a valid repository name (lowercase letters, digits, and . _ - between them)", r.Project))
	}
	if !hashPattern.MatchString(r.Hash) {
		errs = append(errs, fmt.Errorf("dependency hash %q is not 1 to 64 lowercase hex digits", r.Hash))
	}
	if r.Image.Base == "" || r.Image.Base == Scratch {
		// An empty base is scratch: nothing to pull.
	} else if _, err := name.ParseReference(r.Image.Base); err != nil {
		errs = append(errs, fmt.Errorf("image.base %q: %w", r.Image.Base, err))
	}
	if len(r.Image.Install) > 0 {
		if r.Image.Install[0] == "" {
			errs = append(errs, errors.New("image.install names no program (its first element is empty)"))
		}
		if info, err := os.Stat(r.RepoDir); err != nil {
			errs = append(errs, fmt.Errorf("repository directory for image.install: %w", err))
		} else if !info.IsDir() {
			errs = append(errs, fmt.Errorf("repository directory %s is not a directory", r.RepoDir))
		}
	}
	for k := range r.Image.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			errs = append(errs, fmt.Errorf("image.env key %q is not a valid variable name", k))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidRequest, errors.Join(errs...))
}

// Build makes sure the dependency image of req exists in s under
// store.ImageTag(req.Hash) in store.ImageRepo(req.Project). If the tag
// exists it returns at once with Result.Existed set. Otherwise it resolves
// the base, runs the install command into an empty staging directory,
// builds the dependency and runway layers, and pushes the image. The
// staging directory and layer files are removed before Build returns, on
// success and on failure.
func Build(ctx context.Context, s store.Store, req Request, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring image build: %w", err)
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	if req.RunwayBinary == "" {
		req.RunwayBinary = os.Getenv(EnvRunwayBinary)
	}
	if req.RunwayBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the runway binary to embed: %w", err)
		}
		req.RunwayBinary = exe
	}
	res := &Result{Repo: store.ImageRepo(req.Project), Tag: store.ImageTag(req.Hash)}
	log := o.log.With("repo", res.Repo, "tag", res.Tag)

	if desc, ok, err := existing(ctx, s, res.Repo, res.Tag); err != nil {
		return nil, err
	} else if ok {
		log.Info("dependency image exists; nothing to build", "digest", desc.Digest)
		res.Descriptor, res.Existed = desc, true
		return res, nil
	}
	// Two builds of one hash in one process (two PRs with the same lockfile)
	// would both do the work and the second would retag; the lock makes the
	// second one find the first one's tag instead.
	unlock, err := s.Lock(ctx, lock.ImageKey(res.Repo, res.Tag))
	if err != nil {
		return nil, fmt.Errorf("locking dependency image %s:%s: %w", res.Repo, res.Tag, err)
	}
	defer unlock()
	if desc, ok, err := existing(ctx, s, res.Repo, res.Tag); err != nil {
		return nil, err
	} else if ok {
		res.Descriptor, res.Existed = desc, true
		return res, nil
	}

	work, err := os.MkdirTemp(o.tempDir, "runway-image-")
	if err != nil {
		return nil, fmt.Errorf("creating work directory for the image build: %w", err)
	}
	defer func() {
		if err := removeStaging(work); err != nil {
			log.Warn("cleaning up after the image build", "err", err)
		}
	}()
	img, err := build(ctx, req, o, work, res)
	if err != nil {
		return nil, err
	}
	desc, err := store.WriteImage(ctx, s, res.Repo, res.Tag, img)
	if err != nil {
		return nil, fmt.Errorf("pushing dependency image %s:%s to %s: %w", res.Repo, res.Tag, s, err)
	}
	res.Descriptor = desc
	log.Info("pushed dependency image", "digest", desc.Digest, "base", res.Base, "base_digest", res.BaseDigest)
	return res, nil
}

func existing(ctx context.Context, s store.Store, repo, tag string) (v1.Descriptor, bool, error) {
	desc, err := s.HeadManifest(ctx, repo, tag)
	switch {
	case err == nil:
		return desc, true, nil
	case errors.Is(err, store.ErrNotFound):
		return v1.Descriptor{}, false, nil
	default:
		return v1.Descriptor{}, false, fmt.Errorf("checking for dependency image %s:%s in %s: %w", repo, tag, s, err)
	}
}

// build assembles the image; its layer files live in work, which the
// caller removes after the push.
func build(ctx context.Context, req Request, o *options, work string, res *Result) (v1.Image, error) {
	var base *Base
	var err error
	if req.Image.Base == "" || req.Image.Base == Scratch {
		base, err = scratchBase(o.platform)
	} else {
		base, err = o.resolver.ResolveBase(ctx, req.Image.Base, o.platform)
	}
	if err != nil {
		return nil, err
	}
	res.Base, res.BaseDigest = base.Name, base.Digest
	baseImg, err := ociImage(base.Image)
	if err != nil {
		return nil, fmt.Errorf("base image %q: %w", req.Image.Base, err)
	}
	baseCfg, err := baseImg.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of base image %q: %w", req.Image.Base, err)
	}
	if err := checkPlatform(req.Image.Base, baseCfg, o.platform); err != nil {
		return nil, err
	}
	// The runway layer first: it is cheap and a bad binary should fail
	// before a long install.
	if err := checkBinary(req.RunwayBinary, o.platform.Architecture); err != nil {
		return nil, err
	}
	entries, err := runwayEntries(req.RunwayBinary)
	if err != nil {
		return nil, err
	}
	runwayLayer, err := writeLayer(work, entries)
	if err != nil {
		return nil, fmt.Errorf("writing the runway layer: %w", err)
	}

	depsLayer, err := dependencyLayer(ctx, req, o, work)
	if err != nil {
		return nil, err
	}

	img, err := mutate.ConfigFile(baseImg, imageConfig(baseCfg, req.Image.Env))
	if err != nil {
		return nil, fmt.Errorf("setting image config: %w", err)
	}
	var adds []mutate.Addendum
	if depsLayer != nil {
		add, desc := addLayer(depsLayer, LayerDependencies, fmt.Sprintf("runway: image.install %q", req.Image.Install), o.progress)
		adds, res.Dependencies = append(adds, add), &desc
	}
	add, desc := addLayer(runwayLayer, LayerRunway, "runway: COPY runway "+RunwayPath, o.progress)
	adds, res.Runway = append(adds, add), desc
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers to base image %q: %w", req.Image.Base, err)
	}
	annotations := map[string]string{store.AnnotationBaseName: base.Name}
	if base.Digest != (v1.Hash{}) {
		annotations[store.AnnotationBaseDigest] = base.Digest.String()
	}
	if req.Revision != "" {
		annotations[store.AnnotationRevision] = req.Revision
	}
	if req.Source != "" {
		annotations[store.AnnotationSource] = req.Source
	}
	// mutate.Annotations on an image returns an image.
	return mutate.Annotations(img, annotations).(v1.Image), nil
}

// addLayer describes one of runway's layers for mutate.Append: its role
// annotation, a history entry, and upload progress reporting.
func addLayer(l *fileLayer, role, createdBy string, progress func(Progress)) (mutate.Addendum, v1.Descriptor) {
	l.progress = progressFunc(progress, role, l.digest)
	annotations := map[string]string{store.AnnotationLayer: role}
	add := mutate.Addendum{
		Layer:       l,
		Annotations: annotations,
		History:     v1.History{Created: v1.Time{Time: layerTime}, CreatedBy: createdBy, Comment: role + " layer"},
	}
	return add, v1.Descriptor{MediaType: types.OCILayer, Size: l.size, Digest: l.digest, Annotations: annotations}
}

// dependencyLayer runs the install command into a fresh staging directory
// and packs what it left there. It returns nil when there is no install
// command or the command left the directory empty: an empty layer would
// only add a blob and a history entry that carry nothing.
func dependencyLayer(ctx context.Context, req Request, o *options, work string) (*fileLayer, error) {
	if len(req.Image.Install) == 0 {
		return nil, nil
	}
	staging := filepath.Join(work, "layer")
	if err := os.Mkdir(staging, 0o755); err != nil {
		return nil, fmt.Errorf("creating staging directory: %w", err)
	}
	defer func() {
		if err := removeStaging(staging); err != nil {
			o.log.Warn("cleaning up the staging directory", "err", err)
		}
	}()
	o.log.Info("running image.install", "command", req.Image.Install, "dir", req.RepoDir)
	if err := runInstall(ctx, req.Image.Install, req.RepoDir, staging, req.Image.Env, o.installOutput); err != nil {
		return nil, err
	}
	entries, err := collectEntries(staging)
	if err != nil {
		return nil, fmt.Errorf("reading what image.install left in $RUNWAY_LAYER: %w", err)
	}
	if len(entries) == 0 {
		o.log.Info("image.install left $RUNWAY_LAYER empty; no dependency layer")
		return nil, nil
	}
	l, err := writeLayer(work, entries)
	if err != nil {
		return nil, fmt.Errorf("writing the dependency layer: %w", err)
	}
	return l, nil
}
