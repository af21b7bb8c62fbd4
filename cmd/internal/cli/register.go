package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/registrar"
)

// RegisterOptions are the flags of `runway register`.
type RegisterOptions struct {
	Version string
	DryRun  bool
	Base    string
	Head    string
	MaxSize string
}

func newRegister(g *Global) *cobra.Command {
	o := &RegisterOptions{}
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register the repository's tasks, workflows and launch plans into a domain",
		Long: `Validate runway.yaml, package the code and write every entity as an
immutable artifact versioned by the git commit SHA.

Registering a version that already exists with the same content changes
nothing and says so. Registering the same version with different content is
refused (exit code 4) with a field-by-field diff: versions are immutable, so
commit the change to get a new version. A dirty working tree registers as
<sha>-dirty-<12 hex of the bundle digest>; a directory that is not a git
repository needs --version.

With --base and --head, runway plans the change first (see 'runway plan'):
it rebuilds the dependency image only when dependency files changed, and
otherwise ships the code as a bundle on top of the existing image.`,
		Example: `  runway register --repo . --domain development
  runway register --repo . --dry-run -o json
  runway register --repo . --base origin/main --head HEAD`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRegister(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Version, "version", "", "register under this version instead of the git commit SHA")
	f.BoolVar(&o.DryRun, "dry-run", false, "validate and show what would be written, without writing")
	f.StringVar(&o.Base, "base", "", "plan against this base revision (the PR's target)")
	f.StringVar(&o.Head, "head", "", "the head revision to register (with --base)")
	f.StringVar(&o.MaxSize, "max-size", "", "bundle size budget (a quantity such as 200Mi), where the platform allows raising it")
	return cmd
}

func runRegister(cmd *cobra.Command, g *Global, o *RegisterOptions) error {
	if o.Base != "" && o.Version != "" {
		return Usagef("--version and --base do not go together: a PR head registers under its commit SHA")
	}
	if o.Head != "" && o.Base == "" {
		return Usagef("--head goes with --base (the PR's target to plan against)")
	}
	p, err := g.project(KubernetesOptions{})
	if err != nil {
		return err
	}
	head := o.Head
	if o.Base != "" && head == "" {
		head = "HEAD"
	}
	rep, err := flow.PR(cmd.Context(), p, flow.PRRequest{
		Repo: g.Repo, Domain: g.Domain, Base: o.Base, Head: head, Version: o.Version, DryRun: o.DryRun,
		MaxSize: o.MaxSize, InstallOutput: g.IO.Err,
	})
	if rep != nil && rep.Register != nil {
		if g.JSON() {
			out := registerJSON(rep.Register)
			if rep.Plan != nil {
				out["plan"] = rep.Plan
			}
			if rep.Package != nil {
				out["packaged"] = rep.Package
			}
			if perr := g.PrintJSON(out); perr != nil {
				return perr
			}
		} else {
			printPackage(g, rep)
			printRegister(g, rep.Register, err != nil)
		}
		if err != nil && g.JSON() {
			return silentError{err}
		}
	}
	return err
}

type entityJSON struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Domain  string `json:"domain"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
	Status  string `json:"status,omitempty"`
	Error   string `json:"error,omitempty"`
}

func registerJSON(rep *flow.RegisterReport) map[string]any {
	ents := []entityJSON{}
	for _, r := range rep.Entities {
		ents = append(ents, entityJSON{Kind: string(r.ID.Kind), Name: r.ID.Name, Domain: r.ID.Domain,
			Version: r.ID.Version, Digest: r.Digest.String(), Status: string(r.Status), Error: r.Error})
	}
	return map[string]any{
		"project": rep.Project, "domain": rep.Domain, "version": rep.Version, "commit": rep.Commit,
		"dirty": rep.Dirty, "image": rep.Image, "bundle": rep.Bundle, "dryRun": rep.DryRun,
		"store": rep.Store, "entities": ents, "attestations": rep.Attestations,
	}
}

// printRegister prints what a registration wrote; failed says it ended in
// an error, so the headline never claims a registration that was refused.
func printRegister(g *Global, rep *flow.RegisterReport, failed bool) {
	verb := "registered"
	switch {
	case rep.DryRun:
		verb = "would register"
	case failed:
		verb = "did not register"
	}
	fmt.Fprintf(g.IO.Out, "%s %s@%s into %s (%s)\n", verb, rep.Project, rep.Version, rep.Domain, rep.Store)
	if rep.Image != "" {
		fmt.Fprintf(g.IO.Out, "  image:  %s\n", rep.Image)
	}
	if rep.Bundle != "" {
		fmt.Fprintf(g.IO.Out, "  bundle: %s\n", rep.Bundle)
	}
	tw := tabwriter.NewWriter(g.IO.Out, 2, 4, 2, ' ', 0)
	counts := map[registrar.Status]int{}
	for _, r := range rep.Entities {
		counts[r.Status]++
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.ID.Kind, r.ID.Name, r.Status, store.ShortDigest(r.Digest.String()))
	}
	tw.Flush()
	if a := rep.Attestations; a != nil {
		written := 0
		for _, s := range a.Subjects {
			if s.Written {
				written++
			}
		}
		fmt.Fprintf(g.IO.Out, "  provenance: %d signed by %s (%d new)\n", len(a.Subjects), a.SignedBy, written)
	}
	fmt.Fprintf(g.IO.Out, "%d created, %d unchanged", counts[registrar.StatusCreated], counts[registrar.StatusUnchanged])
	if n := counts[registrar.StatusPlanned]; n > 0 {
		fmt.Fprintf(g.IO.Out, ", %d would be created", n)
	}
	if n := counts[registrar.StatusFailed] + counts[registrar.StatusSkipped]; n > 0 {
		fmt.Fprintf(g.IO.Out, ", %d not written", n)
	}
	fmt.Fprintln(g.IO.Out)
}

func printPackage(g *Global, rep *flow.PRReport) {
	p, r := rep.Plan, rep.Package
	if p == nil || r == nil {
		return
	}
	if p.Base != p.Head {
		fmt.Fprintf(g.IO.Out, "plan %s...%s: %s\n", store.ShortDigest(p.Base), store.ShortDigest(p.Head), p.Decision)
		for _, why := range p.Reasons {
			fmt.Fprintf(g.IO.Out, "  %-6s %s  (%s)\n", why.Effect, why.Path, why.Rule)
		}
	}
	switch {
	case r.Image.Built:
		fmt.Fprintf(g.IO.Out, "image built and pushed: %s\n", r.Image.Ref)
	case r.Image.Reused:
		fmt.Fprintf(g.IO.Out, "image reused (deps-%s exists): nothing rebuilt\n", store.ShortDigest(p.Image.Hash))
	}
	if r.Bundle.Uploaded {
		fmt.Fprintf(g.IO.Out, "bundle uploaded: %s (%d files, %d bytes)\n", r.Bundle.Digest, r.Bundle.Files, r.Bundle.Size)
	} else if r.Bundle.Digest != "" {
		fmt.Fprintf(g.IO.Out, "bundle exists: %s (nothing uploaded)\n", r.Bundle.Digest)
	}
}
