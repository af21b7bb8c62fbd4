package packager

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/internal/version"
)

// TestImageConfigLabelsRunwayVersion: the image config names the runway
// that built it and keeps the base's labels; the base is not changed.
func TestImageConfigLabelsRunwayVersion(t *testing.T) {
	base := &v1.ConfigFile{Config: v1.Config{Labels: map[string]string{"org.opencontainers.image.title": "python"}}}
	cfg := imageConfig(base, nil)
	if got := cfg.Config.Labels[store.AnnotationRunwayVersion]; got != version.String() {
		t.Errorf("label %s = %q, want %q", store.AnnotationRunwayVersion, got, version.String())
	}
	if cfg.Config.Labels["org.opencontainers.image.title"] != "python" {
		t.Errorf("the base's labels were dropped: %v", cfg.Config.Labels)
	}
	if _, ok := base.Config.Labels[store.AnnotationRunwayVersion]; ok {
		t.Error("imageConfig changed the base's config")
	}
	if cfg := imageConfig(&v1.ConfigFile{}, nil); cfg.Config.Labels[store.AnnotationRunwayVersion] != version.String() {
		t.Errorf("a base without labels: %v", cfg.Config.Labels)
	}
}
