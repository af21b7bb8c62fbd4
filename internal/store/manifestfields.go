package store

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ManifestFields are the parts of a manifest or index a store backend looks
// at when it stores one (both backends index the same fields).
type ManifestFields struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Layers       []v1.Descriptor   `json:"layers"`
	Manifests    []v1.Descriptor   `json:"manifests"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// ParseManifest checks raw against mediaType (which must be given and agree
// with the document) and returns what a store indexes.
func ParseManifest(mediaType string, raw []byte) (ManifestFields, error) {
	var m ManifestFields
	if mediaType == "" {
		return m, fmt.Errorf("empty media type")
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("parsing manifest: %w", err)
	}
	if m.MediaType != "" && m.MediaType != mediaType {
		return m, fmt.Errorf("manifest says mediaType %q, caller says %q", m.MediaType, mediaType)
	}
	return m, nil
}

// EffectiveArtifactType is the artifactType, or for a manifest without one
// (an image) its config's media type, as the OCI referrers API reports it.
func (m ManifestFields) EffectiveArtifactType() string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if m.Config != nil {
		return string(m.Config.MediaType)
	}
	return ""
}
