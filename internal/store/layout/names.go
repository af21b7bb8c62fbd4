package layout

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The same syntax rules as a registry, checked by go-containerregistry's
// parser so that both backends accept and refuse the same names.

func checkRepo(repo string) error {
	if repo == "" {
		return fmt.Errorf("empty repository name")
	}
	if _, err := name.NewRepository("runway.invalid/"+repo, name.StrictValidation); err != nil {
		return fmt.Errorf("invalid repository name %q: %w", repo, err)
	}
	return nil
}

func checkTag(tag string) error {
	if _, err := name.NewTag("runway.invalid/x:"+tag, name.StrictValidation); err != nil || tag == "" {
		return fmt.Errorf("invalid tag %q", tag)
	}
	return nil
}

func checkDigest(d v1.Hash) error {
	if d.Algorithm != "sha256" || len(d.Hex) != 64 || strings.Trim(d.Hex, "0123456789abcdef") != "" {
		return fmt.Errorf("invalid digest %q: want sha256:<64 hex>", d.String())
	}
	return nil
}

// parseRef splits a reference into a tag or a digest.
func parseRef(ref string) (tag string, d v1.Hash, err error) {
	if strings.Contains(ref, ":") {
		d, err := v1.NewHash(ref)
		if err != nil {
			return "", v1.Hash{}, fmt.Errorf("invalid digest reference %q: %w", ref, err)
		}
		return "", d, checkDigest(d)
	}
	return ref, v1.Hash{}, checkTag(ref)
}
