package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Manifest is an OCI 1.1 image manifest as runway writes it for artifacts.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Blob is one layer of an artifact held in memory.
type Blob struct {
	MediaType   string
	Data        []byte
	Annotations map[string]string
}

// Artifact describes an artifact to write with PutArtifact.
type Artifact struct {
	ArtifactType string
	Layers       []Blob
	Subject      *v1.Descriptor
	Annotations  map[string]string
}

// Digest returns the sha256 digest of b.
func Digest(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// BuildManifest renders the manifest of an artifact, deterministically.
func BuildManifest(a Artifact) ([]byte, error) {
	m := Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeOCIManifest,
		ArtifactType:  a.ArtifactType,
		Config: v1.Descriptor{
			MediaType: types.MediaType(MediaTypeEmptyJSON),
			Size:      int64(len(EmptyJSON)),
			Digest:    Digest(EmptyJSON),
		},
		Layers:      []v1.Descriptor{},
		Subject:     a.Subject,
		Annotations: a.Annotations,
	}
	for _, l := range a.Layers {
		m.Layers = append(m.Layers, v1.Descriptor{
			MediaType:   types.MediaType(l.MediaType),
			Size:        int64(len(l.Data)),
			Digest:      Digest(l.Data),
			Annotations: l.Annotations,
		})
	}
	return json.Marshal(m)
}

// PutArtifact uploads the blobs of a (config and layers) and then its
// manifest, tagged tag (tag may be empty). Blobs that exist are not uploaded
// again.
func PutArtifact(ctx context.Context, s Store, repo, tag string, a Artifact) (v1.Descriptor, error) {
	raw, err := BuildManifest(a)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("rendering manifest for %s: %w", repo, err)
	}
	if err := PutBlobBytes(ctx, s, repo, EmptyJSON); err != nil {
		return v1.Descriptor{}, err
	}
	for _, l := range a.Layers {
		if err := PutBlobBytes(ctx, s, repo, l.Data); err != nil {
			return v1.Descriptor{}, err
		}
	}
	return s.PutManifest(ctx, repo, tag, MediaTypeOCIManifest, raw)
}

// PutBlobBytes uploads b unless the repository already has it.
func PutBlobBytes(ctx context.Context, s Store, repo string, b []byte) error {
	d := Digest(b)
	ok, err := s.HasBlob(ctx, repo, d)
	if err != nil {
		return fmt.Errorf("checking blob %s in %s: %w", d, repo, err)
	}
	if ok {
		return nil
	}
	if err := s.PutBlob(ctx, repo, d, int64(len(b)), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("uploading blob %s to %s: %w", d, repo, err)
	}
	return nil
}

// GetArtifact reads a manifest by tag or digest and parses it.
func GetArtifact(ctx context.Context, s Store, repo, ref string) (*Manifest, v1.Descriptor, error) {
	raw, desc, err := s.GetManifest(ctx, repo, ref)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("parsing manifest %s@%s: %w", repo, ref, err)
	}
	return &m, desc, nil
}

// ReadBlob reads a whole blob and verifies its digest.
func ReadBlob(ctx context.Context, s Store, repo string, d v1.Hash, max int64) ([]byte, error) {
	rc, err := s.GetBlob(ctx, repo, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s from %s: %w", d, repo, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("blob %s in %s is larger than %d bytes", d, repo, max)
	}
	if got := Digest(b); got != d {
		return nil, fmt.Errorf("blob %s in %s: content digest is %s: %w", d, repo, got, ErrDigestMismatch)
	}
	return b, nil
}

// ErrDigestMismatch means stored bytes do not hash to the digest that names them.
var ErrDigestMismatch = fmt.Errorf("digest mismatch")

// ShortDigest is how runway shows a digest or reference to people:
// "sha256:" and the first 12 hex (the full one is in -o json).
func ShortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
