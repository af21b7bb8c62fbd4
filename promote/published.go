package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/platform"
	"github.com/runway-ci/runway/internal/store"
)

// The platform team publishes its config into the store (`runway platform
// apply FILE`). From then on every runway that opens the store takes the
// domains and the promotion policy from the published copy, whatever
// --platform file, flags or environment it was started with: the policy is
// a property of the store, not of the caller.
//
// A registry store with no published config is closed at the top: nothing
// may be promoted into the last domain (production) until the platform team
// publishes a policy, because any caller can pass any --platform file. An
// on-disk store (file://) belongs to whoever can write the directory, so
// there the caller's config applies, which keeps the local demo working.

// MediaTypePlatformConfig is the artifactType of a published platform config
// and the media type of its one layer (the YAML as the team wrote it).
const MediaTypePlatformConfig = "application/vnd.runway.platform.v1+yaml"

// maxPlatformConfig bounds the published config read back.
const maxPlatformConfig = 1 << 20

// Published is a platform config read from the store.
type Published struct {
	Config *platform.Config
	// Digest is the manifest digest of the published config.
	Digest v1.Hash
	// Created is when it was published.
	Created time.Time
	// Raw is the YAML as it was published.
	Raw []byte
}

// PublishPlatform validates the platform config raw (file names it in
// errors) and publishes it into s. Publishing the same bytes again writes
// nothing new.
func PublishPlatform(ctx context.Context, s store.Store, file string, raw []byte, now time.Time) (*Published, error) {
	cfg, err := platform.Parse(file, raw)
	if err != nil {
		return nil, err
	}
	// Public keys given as files travel as PEM: the published config is
	// read where those files are not.
	if raw, err = platform.InlineKeys(raw, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	desc, err := store.PutArtifact(ctx, s, store.PlatformRepo, store.PlatformTag, store.Artifact{
		ArtifactType: MediaTypePlatformConfig,
		Layers:       []store.Blob{{MediaType: MediaTypePlatformConfig, Data: raw}},
		Annotations:  map[string]string{store.AnnotationCreated: now.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return nil, fmt.Errorf("publishing %s into %s: %w", file, s, err)
	}
	return &Published{Config: cfg, Digest: desc.Digest, Created: now.UTC(), Raw: raw}, nil
}

// LoadPublished reads the platform config published in s; (nil, nil) when
// none was published.
func LoadPublished(ctx context.Context, s store.Store) (*Published, error) {
	m, desc, err := store.GetArtifact(ctx, s, store.PlatformRepo, store.PlatformTag)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the published platform config (%s:%s) in %s: %w", store.PlatformRepo, store.PlatformTag, s, err)
	}
	if m.ArtifactType != MediaTypePlatformConfig || len(m.Layers) != 1 {
		return nil, fmt.Errorf("%s:%s in %s is not a published platform config (artifactType %q)", store.PlatformRepo, store.PlatformTag, s, m.ArtifactType)
	}
	raw, err := store.ReadBlob(ctx, s, store.PlatformRepo, m.Layers[0].Digest, maxPlatformConfig)
	if err != nil {
		return nil, fmt.Errorf("reading the published platform config in %s: %w", s, err)
	}
	cfg, err := platform.Parse(fmt.Sprintf("%s/%s:%s", s, store.PlatformRepo, store.PlatformTag), raw)
	if err != nil {
		return nil, fmt.Errorf("the platform config published in %s is invalid: %w", s, err)
	}
	created, _ := time.Parse(time.RFC3339, m.Annotations[store.AnnotationCreated])
	return &Published{Config: cfg, Digest: desc.Digest, Created: created, Raw: raw}, nil
}

// isLocalStore reports whether s is an on-disk store. Anything that does
// not say so is treated as a shared registry (the closed default).
func isLocalStore(s store.Store) bool { return strings.HasPrefix(s.String(), "file://") }

// policyPlatform returns the config whose domains and promotion policy
// decide promotions in p's store, and whether the store is closed at the
// top (a registry with nothing published).
func (p *Promoter) policyPlatform(ctx context.Context) (*platform.Config, bool, error) {
	pub, err := LoadPublished(ctx, p.store)
	if err != nil {
		return nil, false, err
	}
	if pub != nil {
		c := *p.plat
		c.Domains, c.Promote = pub.Config.Domains, pub.Config.Promote
		// Which keys are trusted is the platform's policy too (requireSignedBy
		// names them); the process's own signing key is added by the caller.
		c.Provenance.TrustedKeys = pub.Config.Provenance.TrustedKeys
		return &c, false, nil
	}
	return p.plat, !isLocalStore(p.store), nil
}

// closedViolation refuses a promotion into the last domain of a registry
// store that has no published policy.
func closedViolation(plat *platform.Config, req *Request) (Violation, bool) {
	names := plat.DomainNames()
	if len(names) == 0 || req.To != names[len(names)-1] {
		return Violation{}, true
	}
	return Violation{
		Rule:    "published platform policy (none in this store)",
		Reason:  fmt.Sprintf("this registry store has no published promotion policy, so nothing may be promoted into %s, the last domain", req.To),
		Satisfy: "the platform team publishes its config once: runway platform apply platform.yaml --store <this store>",
	}, false
}
