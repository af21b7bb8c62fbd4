package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
)

// ErrVerifyFailed is returned by `runway history --verify` when an entity
// does not match what was registered or promoted.
var ErrVerifyFailed = errors.New("verification found problems")

// HistoryOptions are the flags of `runway history`.
type HistoryOptions struct {
	Version string
	Verify  bool
}

func newHistory(g *Global) *cobra.Command {
	o := &HistoryOptions{}
	cmd := &cobra.Command{
		Use:   "history KIND/NAME",
		Short: "Show how an entity got where it is: PR, commit, registrations, runs, promotions, activations",
		Long: `Show the whole chain of an entity across every domain, in time order: the
commit and PR, the image and bundle digests it runs, its registration, its
executions and their results, its promotions with actor and evidence, and
(for launch plans) activations and deactivations. Without --version every
version found in any domain is shown.

With --verify every entity is re-hashed in every domain: a manifest or
entity that does not hash to its digest, a version whose content differs
between domains, or a tag that no longer names what was promoted there is
reported, and the command exits 6 (the code for refusals and tampering).`,
		Example: `  runway history launchplan/nightly --version 3f2a...c9
  runway history workflow/train --verify -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := promote.ParseEntityName(args[0])
			if err != nil {
				return Usagef("%v", err)
			}
			p, err := g.promoter()
			if err != nil {
				return err
			}
			project, err := g.ProjectName()
			if err != nil {
				return err
			}
			h, err := p.History(cmd.Context(), project, n.Kind, n.Name, promote.HistoryOptions{Version: o.Version, Verify: o.Verify})
			if err != nil {
				return err
			}
			if g.JSON() {
				if err := g.PrintJSON(h); err != nil {
					return err
				}
			} else {
				printHistory(g, h)
			}
			if h.Verify != nil && !h.Verify.OK() {
				err := fmt.Errorf("%s/%s: %d problem(s): %w", n.Kind, n.Name, len(h.Verify.Findings), ErrVerifyFailed)
				if g.JSON() {
					return silentError{err}
				}
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Version, "version", "", "only this version")
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "re-hash every entity in every domain and report mismatches")
	return cmd
}

func printHistory(g *Global, h *promote.History) {
	w := g.IO.Out
	fmt.Fprintf(w, "%s %s of %s\n", h.Kind, h.Name, h.Project)
	for _, v := range h.Versions {
		fmt.Fprintf(w, "\nversion %s\n", v.Version)
		if v.Commit != "" {
			fmt.Fprintf(w, "  commit:  %s\n", v.Commit)
		}
		for _, pr := range v.PRs {
			fmt.Fprintf(w, "  PR:      #%d %s", pr.Number, pr.URL)
			if pr.Author != "" {
				fmt.Fprintf(w, " by %s", pr.Author)
			}
			fmt.Fprintln(w)
		}
		for _, i := range v.Images {
			fmt.Fprintf(w, "  image:   %s\n", i)
		}
		for _, b := range v.Bundles {
			fmt.Fprintf(w, "  bundle:  %s\n", b)
		}
		for _, d := range v.Domains {
			act := ""
			if d.Active {
				act = ", active"
			}
			fmt.Fprintf(w, "  %-12s %s (%s%s)\n", d.Domain+":", store.ShortDigest(d.Manifest), d.Via, act)
		}
	}
	fmt.Fprintln(w, "\nevents:")
	for _, e := range h.Events {
		fmt.Fprintf(w, "  %s  %-11s %-12s %s\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Domain, shortVersion(e.Version), e.Summary)
	}
	if h.Verify != nil {
		if h.Verify.OK() {
			fmt.Fprintf(w, "\nverify: %d entities re-hashed, all match\n", h.Verify.Checked)
		} else {
			fmt.Fprintf(w, "\nverify: %d entities re-hashed, %d problem(s):\n", h.Verify.Checked, len(h.Verify.Findings))
			for _, f := range h.Verify.Findings {
				fmt.Fprintf(w, "  %s@%s: %s\n", f.Domain, shortVersion(f.Version), strings.TrimSpace(f.Problem))
			}
		}
	}
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}
