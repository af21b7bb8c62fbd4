package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
)

// reference parses a tag or digest reference within repo.
func (s *Store) reference(repo name.Repository, ref string) (name.Reference, error) {
	if strings.Contains(ref, ":") {
		d, err := name.NewDigest(repo.Name()+"@"+ref, s.nameOpts...)
		if err != nil {
			return nil, fmt.Errorf("invalid digest reference %q: %w", ref, err)
		}
		return d, nil
	}
	t, err := name.NewTag(repo.Name()+":"+ref, s.nameOpts...)
	if err != nil || ref == "" {
		return nil, fmt.Errorf("invalid tag %q", ref)
	}
	return t, nil
}

// target names what is being written (for errors) and resolves the
// repository and the reference (the tag, or the digest when tag is "").
func (s *Store) target(verb, repo, tag string, d v1.Hash) (string, name.Repository, name.Reference, error) {
	what := fmt.Sprintf("%s %s@%s to %s", verb, repo, d, s)
	if tag != "" {
		what = fmt.Sprintf("%s %s:%s (%s) to %s", verb, repo, tag, d, s)
	}
	r, err := s.repository(repo)
	if err != nil {
		return "", name.Repository{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	if tag == "" {
		return what, r, r.Digest(d.String()), nil
	}
	ref, err := s.reference(r, tag)
	if err != nil {
		return "", name.Repository{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	return what, r, ref, nil
}

// PutManifest implements store.Store. The PUT is sent here rather than by
// remote.Put so that the response's OCI-Subject header can be read: when a
// manifest has a subject and the registry does not answer with that header,
// the store maintains the referrers tag schema index (tag sha256-<hex> of
// the subject) itself, as the OCI distribution spec asks of clients.
func (s *Store) PutManifest(ctx context.Context, repo, tag string, mediaType string, raw []byte) (v1.Descriptor, error) {
	d := store.Digest(raw)
	what, r, ref, err := s.target("putting manifest", repo, tag, d)
	if err != nil {
		return v1.Descriptor{}, err
	}
	m, err := store.ParseManifest(mediaType, raw)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	c, err := s.client(ctx, r)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	// A manifest refused for a blob another writer is still committing is
	// retried once HEAD finds every blob it names.
	var hdr http.Header
	err = retryRace(ctx, func() error {
		var err error
		hdr, err = s.putManifest(ctx, c, ref, mediaType, raw)
		if err != nil && isRace(err) {
			if ok, _ := s.blobsPresent(ctx, c, r, blobDigests(m)); !ok {
				_ = raceWait(ctx, 1) // give the other upload time to land
			}
		}
		return err
	}, nil)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	desc := v1.Descriptor{MediaType: types.MediaType(mediaType), Size: int64(len(raw)), Digest: d}
	if m.Subject != nil && hdr.Get("OCI-Subject") == "" {
		ref := desc
		ref.ArtifactType = m.EffectiveArtifactType()
		ref.Annotations = m.Annotations
		if err := s.addFallbackReferrer(ctx, c, r, m.Subject.Digest, ref); err != nil {
			return v1.Descriptor{}, fmt.Errorf("%s: recording it as a referrer of %s: %w", what, m.Subject.Digest, err)
		}
	}
	return desc, nil
}

func (s *Store) putManifest(ctx context.Context, c *client, ref name.Reference, mediaType string, raw []byte) (http.Header, error) {
	repo := ref.Context()
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/manifests/%s", repo.RepositoryStr(), ref.Identifier())}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted); err != nil {
		return nil, err
	}
	return resp.Header, nil
}

// fallbackTag is the referrers tag schema tag of a subject.
func fallbackTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex }

var fallbackTagRe = regexp.MustCompile(`^sha256-[0-9a-f]{64}$`)

// addFallbackReferrer adds desc to the subject's referrers index. The
// read-modify-write is serialised within this process; two processes adding
// referrers to one subject at the same instant can lose one (the registry
// has no compare-and-swap).
func (s *Store) addFallbackReferrer(ctx context.Context, c *client, repo name.Repository, subject v1.Hash, desc v1.Descriptor) error {
	unlock, err := s.locks.Lock(ctx, "referrers\x00"+repo.String()+"@"+subject.String())
	if err != nil {
		return err
	}
	defer unlock()
	tag := repo.Tag(fallbackTag(subject))
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	got, err := c.puller.Get(ctx, tag)
	switch {
	case isNotFound(err):
	case err != nil:
		return fmt.Errorf("reading referrers index %s: %w", tag, s.describe(err))
	default:
		if err := json.Unmarshal(got.Manifest, &idx); err != nil {
			return fmt.Errorf("parsing referrers index %s: %w", tag, err)
		}
		for _, m := range idx.Manifests {
			if m.Digest == desc.Digest {
				return nil
			}
		}
	}
	idx.Manifests = append(idx.Manifests, desc)
	sort.Slice(idx.Manifests, func(i, j int) bool { return idx.Manifests[i].Digest.String() < idx.Manifests[j].Digest.String() })
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if _, err := s.putManifest(ctx, c, tag, string(types.OCIImageIndex), raw); err != nil {
		return fmt.Errorf("writing referrers index %s: %w", tag, s.describe(err))
	}
	return nil
}

// GetManifest implements store.Store.
func (s *Store) GetManifest(ctx context.Context, repo, ref string) ([]byte, v1.Descriptor, error) {
	what := fmt.Sprintf("getting manifest %s:%s from %s", repo, ref, s)
	c, r, err := s.resolve(ctx, repo, ref)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	got, err := c.puller.Get(ctx, r)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	if d := store.Digest(got.Manifest); d != got.Digest {
		return nil, v1.Descriptor{}, fmt.Errorf("%s: registry says %s, bytes hash to %s: %w", what, got.Digest, d, store.ErrDigestMismatch)
	}
	return got.Manifest, v1.Descriptor{MediaType: got.MediaType, Size: got.Size, Digest: got.Digest}, nil
}

// HeadManifest implements store.Store.
func (s *Store) HeadManifest(ctx context.Context, repo, ref string) (v1.Descriptor, error) {
	what := fmt.Sprintf("looking up manifest %s:%s in %s", repo, ref, s)
	c, r, err := s.resolve(ctx, repo, ref)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, err)
	}
	d, err := c.puller.Head(ctx, r)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	return v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest}, nil
}

func (s *Store) resolve(ctx context.Context, repo, ref string) (*client, name.Reference, error) {
	r, err := s.repository(repo)
	if err != nil {
		return nil, nil, err
	}
	nr, err := s.reference(r, ref)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.client(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	return c, nr, nil
}

// DeleteTag implements store.Store with DELETE /v2/<repo>/manifests/<tag>,
// which removes the tag only (OCI distribution spec). Registries that only
// delete by digest refuse it, and the error says so.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	what := fmt.Sprintf("deleting tag %s:%s in %s", repo, tag, s)
	if strings.Contains(tag, ":") || tag == "" {
		return fmt.Errorf("%s: invalid tag %q", what, tag)
	}
	c, r, err := s.resolve(ctx, repo, tag)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := c.pusher.Delete(ctx, r); err != nil {
		return fmt.Errorf("%s: %w", what, s.describe(err))
	}
	return nil
}

// Tags implements store.Store. Referrers tag schema tags (sha256-<hex>
// pointing at an OCI index) are the store's own bookkeeping and are left
// out; a sha256-<hex> tag on a manifest (a code bundle) is listed.
func (s *Store) Tags(ctx context.Context, repo string) ([]string, error) {
	what := fmt.Sprintf("listing tags of %s in %s", repo, s)
	r, err := s.repository(repo)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c, err := s.client(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	all, err := c.puller.List(ctx, r)
	if isNotFound(err) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	tags := []string{}
	for _, t := range all {
		if fallbackTagRe.MatchString(t) {
			d, err := c.puller.Head(ctx, r.Tag(t))
			if err != nil && !isNotFound(err) {
				return nil, fmt.Errorf("%s: %w", what, s.describe(err))
			}
			if err != nil || d.MediaType == types.OCIImageIndex {
				continue
			}
		}
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags, nil
}

// Repositories implements store.Store through the registry's catalog.
func (s *Store) Repositories(ctx context.Context, prefix string) ([]string, error) {
	what := fmt.Sprintf("listing repositories of %s", s)
	rt, err := s.authTransport(ctx, s.reg, []string{s.reg.Scope("*")})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	puller, err := ggcr.NewPuller(s.ggcrOptions(rt)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	all, err := puller.Catalog(ctx, s.reg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	want := prefix
	if s.prefix != "" {
		want = s.prefix + "/" + prefix
	}
	repos := []string{}
	seen := map[string]bool{}
	for _, full := range all {
		if !strings.HasPrefix(full, want) {
			continue
		}
		repo := full
		if s.prefix != "" {
			repo = strings.TrimPrefix(full, s.prefix+"/")
		}
		if !seen[repo] {
			seen[repo] = true
			repos = append(repos, repo)
		}
	}
	sort.Strings(repos)
	return repos, nil
}

// Referrers implements store.Store: the referrers API, or the referrers tag
// schema index when the registry has no such API. A descriptor whose
// artifactType the registry reported as the empty config type (as
// go-containerregistry's in-process registry does) is corrected from the
// manifest itself before filtering.
func (s *Store) Referrers(ctx context.Context, repo string, digest v1.Hash, artifactType string) ([]v1.Descriptor, error) {
	what := fmt.Sprintf("listing referrers of %s@%s in %s", repo, digest, s)
	c, r, err := s.resolve(ctx, repo, digest.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	idx, err := ggcr.Referrers(r.(name.Digest), ggcr.Reuse(c.puller), ggcr.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, s.describe(err))
	}
	out := []v1.Descriptor{}
	seen := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		if d.ArtifactType == "" || d.ArtifactType == store.MediaTypeEmptyJSON {
			got, err := c.puller.Get(ctx, r.Context().Digest(d.Digest.String()))
			if err != nil {
				return nil, fmt.Errorf("%s: reading referrer %s: %w", what, d.Digest, s.describe(err))
			}
			var m store.ManifestFields
			if err := json.Unmarshal(got.Manifest, &m); err != nil {
				return nil, fmt.Errorf("%s: parsing referrer %s: %w", what, d.Digest, err)
			}
			d.ArtifactType = m.EffectiveArtifactType()
			d.Annotations = m.Annotations
		}
		if artifactType != "" && d.ArtifactType != artifactType {
			continue
		}
		out = append(out, v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest, ArtifactType: d.ArtifactType, Annotations: d.Annotations})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest.String() < out[j].Digest.String() })
	return out, nil
}
