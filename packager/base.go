package packager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/version"
)

// ErrBaseNotFound means the base image reference does not exist.
var ErrBaseNotFound = errors.New("base image not found")

// Base is a resolved base image.
type Base struct {
	// Name is the fully qualified reference as written in runway.yaml
	// ("index.docker.io/library/python:3.12-slim").
	Name string
	// Digest is what Name resolved to: the manifest or index digest the
	// registry serves for it. This is the digest recorded in the
	// org.opencontainers.image.base.digest annotation.
	Digest v1.Hash
	// Image is the image for the build platform (the child of an index).
	Image v1.Image
}

// BaseResolver finds the base image named in runway.yaml.
type BaseResolver interface {
	// ResolveBase resolves ref to a digest and an image for platform. It
	// returns an error wrapping ErrBaseNotFound if ref does not exist.
	ResolveBase(ctx context.Context, ref string, platform v1.Platform) (*Base, error)
}

// RemoteResolver resolves base images from their registries with
// go-containerregistry. The zero value uses authn.DefaultKeychain (docker
// config, credential helpers) and ggcr's default retrying transport.
// Registries on localhost and 127.0.0.1 are reached over plain HTTP, as
// ggcr always does; Insecure extends that to every registry.
type RemoteResolver struct {
	Keychain  authn.Keychain
	Transport http.RoundTripper
	Insecure  bool
}

// ResolveBase implements BaseResolver.
func (r RemoteResolver) ResolveBase(ctx context.Context, ref string, platform v1.Platform) (*Base, error) {
	var nameOpts []name.Option
	if r.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	parsed, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("parsing base image reference %q: %w", ref, err)
	}
	kc := r.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{
		remote.WithContext(ctx), // per call, never stored by runway
		remote.WithAuthFromKeychain(kc),
		remote.WithPlatform(platform),
		remote.WithUserAgent(version.UserAgent()),
	}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	desc, err := remote.Get(parsed, opts...)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("resolving base image %q: %w: %w", ref, ErrBaseNotFound, err)
		}
		return nil, fmt.Errorf("resolving base image %q: %w", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading base image %q for %s: %w", ref, platformString(platform), err)
	}
	return &Base{Name: parsed.Name(), Digest: desc.Digest, Image: img}, nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return true
		}
	}
	return false
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// checkPlatform refuses a base whose config names another platform: the
// install command and the runway binary both run natively on the build
// host, so the image can only be for the host's architecture.
func checkPlatform(ref string, cfg *v1.ConfigFile, want v1.Platform) error {
	if (cfg.OS != "" && cfg.OS != want.OS) || (cfg.Architecture != "" && cfg.Architecture != want.Architecture) {
		return fmt.Errorf("base image %q is for %s/%s; runway builds %s images on this host", ref, cfg.OS, cfg.Architecture, platformString(want))
	}
	return nil
}

// ociImage presents img with an OCI manifest: OCI manifest and config media
// types and OCI layer media types for Docker layers (the blobs are the same
// gzip tars; only the descriptors change). Docker schema 2 manifests have no
// annotations field, and runway's annotations are part of the contract, so
// every image runway writes is OCI.
func ociImage(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading base media type: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		return img, nil
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading base manifest: %w", err)
	}
	m = m.DeepCopy()
	m.MediaType = types.OCIManifestSchema1
	m.Config.MediaType = types.OCIConfigJSON
	for i, l := range m.Layers {
		switch l.MediaType {
		case types.DockerLayer:
			m.Layers[i].MediaType = types.OCILayer
		case types.DockerUncompressedLayer:
			m.Layers[i].MediaType = types.OCIUncompressedLayer
		case types.DockerForeignLayer:
			m.Layers[i].MediaType = types.OCIRestrictedLayer
		}
	}
	return &ociView{Image: img, manifest: m}, nil
}

type ociView struct {
	v1.Image
	manifest *v1.Manifest
}

func (o *ociView) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (o *ociView) Manifest() (*v1.Manifest, error)     { return o.manifest.DeepCopy(), nil }
func (o *ociView) RawManifest() ([]byte, error)        { return json.Marshal(o.manifest) }
func (o *ociView) Digest() (v1.Hash, error)            { return partial.Digest(o) }
func (o *ociView) Size() (int64, error)                { return partial.Size(o) }

// Scratch names the empty base image ("image.base" empty or "scratch"): the
// image is the dependency layer and the runway binary alone. It suits the
// local executor and fully static tasks; name a real base for containers
// that need an interpreter.
const Scratch = "scratch"

// scratchBase is the empty image for platform. It has no digest to record.
func scratchBase(p v1.Platform) (*Base, error) {
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS: p.OS, Architecture: p.Architecture, Variant: p.Variant,
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, fmt.Errorf("making the scratch base: %w", err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return &Base{Name: Scratch, Image: img}, nil
}
