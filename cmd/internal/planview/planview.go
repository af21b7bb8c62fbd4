// Package planview renders a plan for people (text) and scripts (JSON).
// Both the full CLI and the fast `runway plan` path use it, so the two
// print the same bytes; it must stay as light as internal/plan.
package planview

import (
	"fmt"
	"io"

	"github.com/runway-ci/runway/internal/plan"
)

// Write renders p as JSON (stable field names) or as text.
func Write(w io.Writer, p *plan.Result, json bool) error {
	if json {
		return p.WriteJSON(w)
	}
	fmt.Fprintf(w, "decision: %s\n", p.Decision)
	fmt.Fprintf(w, "  %s...%s (merge base %s), %d paths changed\n", short(p.Base), short(p.Head), short(p.MergeBase), len(p.Changed))
	for _, r := range p.Reasons {
		fmt.Fprintf(w, "  %-6s %s  (%s)\n", r.Effect, r.Path, r.Rule)
	}
	exists := "not built yet"
	if p.Image.Exists {
		exists = "exists"
	}
	fmt.Fprintf(w, "image:  %s (%s)\n", p.Image.Ref, exists)
	if p.Bundle.Built {
		fmt.Fprintf(w, "bundle: %s (%d files, %d bytes)\n", p.Bundle.Digest, p.Bundle.Files, p.Bundle.Size)
	} else {
		_, err := fmt.Fprintf(w, "bundle: not built yet for tree %s\n", short(p.HeadTree))
		return err
	}
	return nil
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
