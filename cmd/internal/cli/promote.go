package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
)

// PromoteOptions are the flags of `runway promote`.
type PromoteOptions struct {
	From, To, Version string
	Entities          []string
	Actor             string
	Teams             []string
	Permission        string
	PRNumber          int
	PRURL, PRAuthor   string
	Approvals         []string
	Checks            []string
	Reason            string
	OnMerge           bool
	MergeSHA, PRHead  string
}

func newPromote(g *Global) *cobra.Command {
	o := &PromoteOptions{}
	cmd := &cobra.Command{
		Use:   "promote",
		Short: "Promote a version's entities to the next domain, by digest",
		Long: `Copy every entity of a version (or the ones named with --entity, with
what they reference) from one domain to the next. Manifests are copied by
digest: blobs are mounted, never uploaded again, and the target digest is
checked against the source. Promoting again changes nothing and says so; a
target that holds other content under that version is refused.

The platform policy is checked first: the allowed path (by default only to
the next domain), who may promote (--actor), required checks (--check),
approvals not by the PR author (--approved-by, --pr-author) and a succeeded
execution in the source domain. A refusal names the rule and what would
satisfy it. Each promoted entity gets a promotion record (an OCI referrer):
who, when, from where, PR, evidence. Promoting a launch plan activates it in
the target domain.

With --on-merge, runway promotes what a merged PR ships: the PR head's
entities when the merge commit's tree equals the head's, otherwise it
registers the merge commit (checked out in --repo) first.`,
		Example: `  runway promote --from development --to staging --version 3f2a...c9 --actor alice
  runway promote --to production --version 3f2a...c9 --entity launchplan/nightly --actor alice
  runway promote --on-merge --merge-sha M --pr-head H --pr 12 --actor bob -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runPromote(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "source domain (default: the domain before --to)")
	f.StringVar(&o.To, "to", "", "target domain (default: the domain after --from; on merge: the platform's promotion.onMerge)")
	f.StringVar(&o.Version, "version", "", "the version to promote (a git commit SHA)")
	f.StringSliceVar(&o.Entities, "entity", nil, "promote only KIND/NAME (repeatable; what it references at the version comes along)")
	f.StringVar(&o.Actor, "actor", "", "who promotes (checked against the policy's actors)")
	f.StringSliceVar(&o.Teams, "actor-team", nil, "teams of the actor (@org/team), as resolved by the caller")
	f.StringVar(&o.Permission, "actor-permission", "", "the actor's repository permission (read, triage, write, maintain, admin)")
	f.IntVar(&o.PRNumber, "pr", 0, "the pull request number, for the record")
	f.StringVar(&o.PRURL, "pr-url", "", "the pull request URL, for the record")
	f.StringVar(&o.PRAuthor, "pr-author", "", "the pull request author (approvals by the author do not count)")
	f.StringSliceVar(&o.Approvals, "approved-by", nil, "logins that approved the PR (repeatable)")
	f.StringSliceVar(&o.Checks, "check", nil, "a check result NAME=CONCLUSION (repeatable)")
	f.StringVar(&o.Reason, "reason", "", "free text kept in the records")
	f.BoolVar(&o.OnMerge, "on-merge", false, "promote what a merged PR ships (needs --merge-sha and --pr-head)")
	f.StringVar(&o.MergeSHA, "merge-sha", "", "the merge commit (with --on-merge)")
	f.StringVar(&o.PRHead, "pr-head", "", "the PR head commit (with --on-merge)")
	return cmd
}

func (o *PromoteOptions) request(project string) (promote.Request, error) {
	req := promote.Request{Project: project, From: o.From, To: o.To, Version: o.Version, Reason: o.Reason,
		Actor: promote.Actor{Login: o.Actor, Teams: o.Teams, Permission: o.Permission}, Approvals: o.Approvals}
	for _, e := range o.Entities {
		n, err := promote.ParseEntityName(e)
		if err != nil {
			return req, Usagef("--entity: %v", err)
		}
		req.Entities = append(req.Entities, n)
	}
	for _, c := range o.Checks {
		name, concl, ok := strings.Cut(c, "=")
		if !ok || name == "" || concl == "" {
			return req, Usagef("--check %q: want NAME=CONCLUSION, such as ci/test=success", c)
		}
		req.Checks = append(req.Checks, promote.Check{Name: name, Conclusion: concl})
	}
	if o.PRNumber != 0 || o.PRURL != "" || o.PRAuthor != "" {
		req.PR = &promote.PR{Number: o.PRNumber, URL: o.PRURL, Author: o.PRAuthor}
	}
	return req, nil
}

func runPromote(cmd *cobra.Command, g *Global, o *PromoteOptions) error {
	if o.OnMerge && (o.MergeSHA == "" || o.PRHead == "") {
		return Usagef("--on-merge needs --merge-sha and --pr-head")
	}
	if !o.OnMerge && (o.MergeSHA != "" || o.PRHead != "") {
		return Usagef("--merge-sha and --pr-head go with --on-merge")
	}
	if !o.OnMerge && o.Version == "" {
		return Usagef("--version is required (the git commit SHA to promote)")
	}
	if !o.OnMerge && o.From == "" && o.To == "" {
		return Usagef("say where to promote: --to DOMAIN (and --from, default the domain before it)")
	}
	p, project, err := g.openProject()
	if err != nil {
		return err
	}
	req, err := o.request(project)
	if err != nil {
		return err
	}
	if o.OnMerge {
		mrep, err := flow.Merge(cmd.Context(), p, flow.MergeRequest{Repo: g.Repo, MergeSHA: o.MergeSHA, PRHead: o.PRHead,
			Promote: req, PR: flow.PRRequest{InstallOutput: g.IO.Err}})
		if mrep != nil {
			if g.JSON() {
				if perr := g.PrintJSON(mrep); perr != nil {
					return perr
				}
			} else {
				fmt.Fprintf(g.IO.Out, "on merge: %s\n  %s\n", mrep.Path, mrep.Reason)
				if r := mrep.Registration; r != nil && r.Register != nil {
					printPackage(g, r)
					printRegister(g, r.Register, err != nil && mrep.Promotion == nil)
				}
				if mrep.Promotion != nil {
					printPromote(g, mrep.Promotion)
				}
			}
			if err != nil && g.JSON() {
				return silentError{err}
			}
		}
		return err
	}
	rep, err := flow.Promote(cmd.Context(), p, req)
	if rep != nil {
		if g.JSON() {
			if perr := g.PrintJSON(rep); perr != nil {
				return perr
			}
		} else {
			printPromote(g, rep)
		}
		if err != nil && g.JSON() {
			return silentError{err}
		}
	}
	return err
}

func printPromote(g *Global, rep *promote.Report) {
	fmt.Fprintf(g.IO.Out, "promoting %s@%s from %s to %s\n", rep.Project, rep.Version, rep.From, rep.To)
	tw := tabwriter.NewWriter(g.IO.Out, 2, 4, 2, ' ', 0)
	for _, e := range rep.Entities {
		extra := ""
		if e.Rollback {
			extra = "  (rollback)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s%s\n", e.ID.Kind, e.ID.Name, e.Status, store.ShortDigest(e.Manifest.String()), extra)
	}
	tw.Flush()
	for _, a := range rep.Activations {
		switch a.Status {
		case promote.ActivationActivated:
			prev := "nothing was active"
			if a.Previous != "" {
				prev = "replacing " + a.Previous
			}
			if a.Rollback {
				prev += ", a rollback"
			}
			fmt.Fprintf(g.IO.Out, "  launch plan %s is now active in %s (%s)\n", a.ID.Name, a.ID.Domain, prev)
		default:
			fmt.Fprintf(g.IO.Out, "  launch plan %s was already active in %s\n", a.ID.Name, a.ID.Domain)
		}
	}
	c := rep.Counts()
	fmt.Fprintf(g.IO.Out, "%d promoted, %d unchanged", c[promote.StatusPromoted], c[promote.StatusUnchanged])
	if n := c[promote.StatusCompleted]; n > 0 {
		fmt.Fprintf(g.IO.Out, ", %d completed (copied earlier, record written now)", n)
	}
	if n := c[promote.StatusFailed] + c[promote.StatusSkipped]; n > 0 {
		fmt.Fprintf(g.IO.Out, ", %d not promoted", n)
	}
	fmt.Fprintln(g.IO.Out)
}
