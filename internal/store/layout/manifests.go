package layout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runway-ci/runway/internal/store"
)

// PutManifest implements store.Store.
func (s *Store) PutManifest(ctx context.Context, repo, tag string, mediaType string, raw []byte) (v1.Descriptor, error) {
	d := store.Digest(raw)
	what := fmt.Sprintf("%s@%s", repo, d)
	if tag != "" {
		what = fmt.Sprintf("%s:%s (%s)", repo, tag, d)
	}
	fail := func(err error) (v1.Descriptor, error) {
		return v1.Descriptor{}, fmt.Errorf("putting manifest %s in %s: %w", what, s, err)
	}
	if err := checkRepo(repo); err != nil {
		return fail(err)
	}
	if tag != "" {
		if err := checkTag(tag); err != nil {
			return fail(err)
		}
	}
	m, err := store.ParseManifest(mediaType, raw)
	if err != nil {
		return fail(err)
	}
	if err := s.checkDeps(repo, m); err != nil {
		return fail(err)
	}
	if err := s.PutBlob(ctx, repo, d, int64(len(raw)), bytes.NewReader(raw)); err != nil {
		return fail(err)
	}
	desc := v1.Descriptor{MediaType: types.MediaType(mediaType), Size: int64(len(raw)), Digest: d}
	stored := desc
	stored.ArtifactType = m.EffectiveArtifactType()
	subject := ""
	if m.Subject != nil {
		subject = m.Subject.Digest.String()
	}
	err = s.update(func(ix *index) (bool, error) {
		if tag == "" {
			if ix.findDigest(repo, d) >= 0 {
				return false, nil
			}
			e, err := newEntry(withAnnotations(stored, repo, "", subject))
			if err != nil {
				return false, err
			}
			ix.entries = append(ix.entries, e)
			return true, nil
		}
		i := ix.find(repo, tag)
		if i >= 0 && ix.entries[i].desc.Digest == d {
			return false, nil
		}
		e, err := newEntry(withAnnotations(stored, repo, tag, subject))
		if err != nil {
			return false, err
		}
		if i >= 0 {
			old := ix.entries[i]
			ix.entries[i] = e
			if err := ix.keepReachable(old); err != nil {
				return false, err
			}
		} else {
			ix.entries = append(ix.entries, e)
		}
		// An untagged entry for d is redundant now that a tag names it.
		for j, o := range ix.entries {
			if o.repo == repo && o.tag == "" && o.desc.Digest == d {
				ix.remove(j)
				break
			}
		}
		return true, nil
	})
	if err != nil {
		return fail(err)
	}
	return desc, nil
}

// checkDeps refuses a manifest that names blobs (or, for an index,
// manifests) the store does not have.
func (s *Store) checkDeps(repo string, m store.ManifestFields) error {
	var blobs []v1.Descriptor
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	blobs = append(blobs, m.Layers...)
	for _, b := range blobs {
		if err := checkDigest(b.Digest); err != nil {
			return err
		}
		if _, err := os.Stat(s.blobPath(b.Digest)); err != nil {
			return notFound("manifest names blob %s, which the store does not have", b.Digest)
		}
	}
	if len(m.Manifests) == 0 {
		return nil
	}
	return s.view(func(ix *index) error {
		for _, c := range m.Manifests {
			if ix.findDigest(repo, c.Digest) < 0 {
				return notFound("index names manifest %s, which %s does not have", c.Digest, repo)
			}
		}
		return nil
	})
}

// resolve finds the index entry for a tag or digest reference.
func (s *Store) resolve(repo, ref string) (v1.Descriptor, error) {
	if err := checkRepo(repo); err != nil {
		return v1.Descriptor{}, err
	}
	tag, d, err := parseRef(ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	var desc v1.Descriptor
	err = s.view(func(ix *index) error {
		var i int
		if tag != "" {
			i = ix.find(repo, tag)
		} else {
			i = ix.findDigest(repo, d)
		}
		if i < 0 {
			return notFound("no manifest %s in %s", ref, repo)
		}
		e := ix.entries[i].desc
		desc = v1.Descriptor{MediaType: e.MediaType, Size: e.Size, Digest: e.Digest}
		return nil
	})
	return desc, err
}

// GetManifest implements store.Store. The bytes are checked against their
// digest.
func (s *Store) GetManifest(ctx context.Context, repo, ref string) ([]byte, v1.Descriptor, error) {
	desc, err := s.resolve(repo, ref)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("getting manifest %s:%s from %s: %w", repo, ref, s, err)
	}
	raw, err := os.ReadFile(s.blobPath(desc.Digest))
	if err != nil {
		if os.IsNotExist(err) {
			err = fmt.Errorf("manifest blob is missing: %w", store.ErrNotFound)
		}
		return nil, v1.Descriptor{}, fmt.Errorf("getting manifest %s:%s from %s: %w", repo, ref, s, err)
	}
	if got := store.Digest(raw); got != desc.Digest {
		return nil, v1.Descriptor{}, fmt.Errorf("getting manifest %s:%s from %s: blob %s hashes to %s: %w", repo, ref, s, desc.Digest, got, store.ErrDigestMismatch)
	}
	return raw, desc, nil
}

// HeadManifest implements store.Store.
func (s *Store) HeadManifest(ctx context.Context, repo, ref string) (v1.Descriptor, error) {
	desc, err := s.resolve(repo, ref)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("looking up manifest %s:%s in %s: %w", repo, ref, s, err)
	}
	return desc, nil
}

// DeleteTag implements store.Store. The manifest stays readable by digest.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	if err := checkRepo(repo); err != nil {
		return fmt.Errorf("deleting tag in %s: %w", s, err)
	}
	if err := checkTag(tag); err != nil {
		return fmt.Errorf("deleting tag in %s/%s: %w", s, repo, err)
	}
	err := s.update(func(ix *index) (bool, error) {
		i := ix.find(repo, tag)
		if i < 0 {
			return false, notFound("no tag %s", tag)
		}
		old := ix.entries[i]
		ix.remove(i)
		return true, ix.keepReachable(old)
	})
	if err != nil {
		return fmt.Errorf("deleting tag %s:%s in %s: %w", repo, tag, s, err)
	}
	return nil
}

// Tags implements store.Store.
func (s *Store) Tags(ctx context.Context, repo string) ([]string, error) {
	if err := checkRepo(repo); err != nil {
		return nil, fmt.Errorf("listing tags in %s: %w", s, err)
	}
	tags := []string{}
	err := s.view(func(ix *index) error {
		for _, e := range ix.entries {
			if e.repo == repo && e.tag != "" {
				tags = append(tags, e.tag)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(tags)
	return tags, nil
}

// Repositories implements store.Store.
func (s *Store) Repositories(ctx context.Context, prefix string) ([]string, error) {
	seen := map[string]bool{}
	repos := []string{}
	err := s.view(func(ix *index) error {
		for _, e := range ix.entries {
			if e.repo != "" && !seen[e.repo] && strings.HasPrefix(e.repo, prefix) {
				seen[e.repo] = true
				repos = append(repos, e.repo)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(repos)
	return repos, nil
}

// Referrers implements store.Store. Descriptors carry the referrer's
// artifactType and annotations, as the OCI referrers API returns them, and
// come sorted by digest.
func (s *Store) Referrers(ctx context.Context, repo string, digest v1.Hash, artifactType string) ([]v1.Descriptor, error) {
	if err := checkRepo(repo); err != nil {
		return nil, fmt.Errorf("listing referrers in %s: %w", s, err)
	}
	if err := checkDigest(digest); err != nil {
		return nil, fmt.Errorf("listing referrers in %s/%s: %w", s, repo, err)
	}
	found := []v1.Descriptor{}
	err := s.view(func(ix *index) error {
		seen := map[v1.Hash]bool{}
		for _, e := range ix.entries {
			if e.repo != repo || e.subject != digest.String() || seen[e.desc.Digest] {
				continue
			}
			if artifactType != "" && e.desc.ArtifactType != artifactType {
				continue
			}
			seen[e.desc.Digest] = true
			found = append(found, v1.Descriptor{MediaType: e.desc.MediaType, Size: e.desc.Size, Digest: e.desc.Digest, ArtifactType: e.desc.ArtifactType})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range found {
		raw, err := os.ReadFile(s.blobPath(found[i].Digest))
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s in %s/%s: %w", found[i].Digest, s, repo, err)
		}
		var m store.ManifestFields
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("parsing referrer %s in %s/%s: %w", found[i].Digest, s, repo, err)
		}
		found[i].Annotations = m.Annotations
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Digest.String() < found[j].Digest.String() })
	return found, nil
}
