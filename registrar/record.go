package registrar

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/version"
)

// An entity manifest is reproducible: identical content gives identical
// bytes, whoever registers it and whenever, as a reproducible build does.
// So its org.opencontainers.image.created annotation is the commit time of
// the version, never the wall clock, and the registration time lives in an
// audit record: a referrer of the entity manifest (artifactType
// ArtifactTypeRegistration) whose annotation store.AnnotationRegistered
// holds it, and store.AnnotationRunwayVersion the runway that registered it.

// ArtifactTypeRegistration is the artifactType of a registration record.
const ArtifactTypeRegistration = "application/vnd.runway.registration.v1+json"

// writeRegistration records that subject was registered at t, unless a
// registration record for it exists already (a run that died between the
// record and the tag left one; it is reused, never doubled).
func writeRegistration(ctx context.Context, s store.Store, repo string, subject v1.Descriptor, t time.Time) error {
	if _, ok, err := registeredAt(ctx, s, repo, subject.Digest); err != nil || ok {
		return err
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	_, err := store.PutArtifact(ctx, s, repo, "", store.Artifact{
		ArtifactType: ArtifactTypeRegistration,
		Layers:       []store.Blob{{MediaType: store.MediaTypeEmptyJSON, Data: store.EmptyJSON}},
		Subject:      &sub,
		Annotations: map[string]string{store.AnnotationRegistered: t.UTC().Format(time.RFC3339Nano),
			store.AnnotationRunwayVersion: version.String()},
	})
	if err != nil {
		return fmt.Errorf("writing the registration record of %s@%s: %w", repo, subject.Digest, err)
	}
	return nil
}

// RegisteredAt returns when the entity manifest m in repo was registered,
// from its registration record; ok is false when it has none (a promoted
// copy, or an entity registered before records existed).
func RegisteredAt(ctx context.Context, s store.Store, repo string, m v1.Hash) (t time.Time, ok bool, err error) {
	return registeredAt(ctx, s, repo, m)
}

func registeredAt(ctx context.Context, s store.Store, repo string, m v1.Hash) (time.Time, bool, error) {
	descs, err := s.Referrers(ctx, repo, m, ArtifactTypeRegistration)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("listing registration records of %s@%s: %w", repo, m, err)
	}
	var first time.Time
	found := false
	for _, d := range descs {
		at := d.Annotations[store.AnnotationRegistered]
		if at == "" {
			// A registry's referrers API may leave annotations out.
			man, _, err := store.GetArtifact(ctx, s, repo, d.Digest.String())
			if err != nil {
				return time.Time{}, false, err
			}
			at = man.Annotations[store.AnnotationRegistered]
		}
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			continue
		}
		if !found || t.Before(first) {
			first, found = t, true
		}
	}
	return first, found, nil
}

// commitTimes remembers the commit time of each commit DetectVersion and
// ResolveCommit resolved in this process, so that a Registrar whose
// caller did not set Created still stamps the commit time (a commit's time
// never changes, so the memo cannot go stale).
var commitTimes sync.Map // commit SHA -> time.Time

func rememberCommitTime(commit string, t time.Time) {
	if commit != "" && !t.IsZero() {
		commitTimes.Store(commit, t.UTC())
	}
}

// commitTimeOf returns the remembered commit time of a version ("<sha>" or
// "<sha>-dirty-<hex>").
func commitTimeOf(version string) (time.Time, bool) {
	c := version
	if len(c) > 40 {
		c = c[:40]
	}
	v, ok := commitTimes.Load(c)
	if !ok {
		return time.Time{}, false
	}
	return v.(time.Time), true
}
