package prbot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/spec"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// pullRequest runs the PR pipeline on opened, synchronize and reopened.
func (r *run) pullRequest(ctx context.Context, ev *gogithub.PullRequestEvent) error {
	switch ev.GetAction() {
	case "opened", "synchronize", "reopened":
	case "closed":
		return r.closed(ctx, ev)
	default:
		r.report().Notice(fmt.Sprintf("runway: nothing to do for pull_request %q", ev.GetAction()))
		return nil
	}
	pr := ev.GetPullRequest()
	r.usePRDomain(pr.GetNumber())
	v := &prView{
		Repo: r.repo.String(), Number: fmt.Sprint(pr.GetNumber()), Title: pr.GetTitle(),
		Head: pr.GetHead().GetSHA(), Base: pr.GetBase().GetSHA(), HeadRef: pr.GetHead().GetRef(),
		Domain: r.Domain, RunURL: r.RunURL, Author: pr.GetUser().GetLogin(),
	}
	// A deleted fork has no head repository: treat it as a fork.
	v.Fork = pr.GetHead().GetRepo().GetFullName() != pr.GetBase().GetRepo().GetFullName()
	v.ValidateOnly, v.RegistrationMissing = v.Fork, v.Fork
	dir, err := r.Workspace.Checkout(ctx, r.repo, v.Head, v.Base)
	if err != nil {
		r.report().Error(err)
		return err
	}
	if !v.Fork {
		r.setStatus(ctx, v.Head, github.StatePending, "planning and registering")
	}
	return r.runPR(ctx, dir, v, pr.GetNumber(), !v.Fork)
}

// runPR runs the PR pipeline for v and reports it everywhere; write says
// whether the token may write (comment, status).
func (r *run) runPR(ctx context.Context, dir string, v *prView, number int, write bool) error {
	frep, err := flow.PR(ctx, r.Project, flow.PRRequest{Repo: dir, Base: v.Base, Head: v.Head, Domain: r.Domain, ValidateOnly: v.ValidateOnly})
	rep := reportOf(frep, v.ValidateOnly)
	v.Report, v.Err = rep, err
	if err != nil {
		r.report().Error(err)
	}
	if rep != nil && rep.Plan != nil {
		r.report().Output("decision", string(rep.Plan.Decision))
	}
	r.report().Output("version", v.Head)
	r.report().Output("image", imageOf(rep))
	r.report().Output("bundle", bundleOf(rep))
	if reg := registerOf(rep); reg != nil {
		r.report().Output("entities", entitiesJSON(reg.Entities))
	} else {
		r.report().Output("entities", "[]")
	}
	r.report().Output("execution", "")
	if r.Run != "" && err == nil && !v.ValidateOnly {
		ex, rerr := r.runTarget(ctx, dir, v.Head, r.Run, r.RunInputs)
		rep.Execution = ex
		if ex != nil {
			r.report().Output("execution", ex.ID)
		}
		switch {
		case rerr != nil:
			err = fmt.Errorf("running %s: %w", r.Run, rerr)
		case ex.Status != executor.StatusSucceeded:
			err = fmt.Errorf("running %s: execution %s %s: %s", r.Run, ex.ID, ex.Status, ex.Error)
		}
		v.Err = err
		if err != nil {
			r.report().Error(err)
		}
	}
	if err == nil {
		v.Against = r.against(ctx, dir, v)
	}
	r.report().Summary(renderPR(v, false))
	if !write {
		return err
	}
	if cerr := r.upsertSticky(ctx, number, renderPR(v, true)); cerr != nil {
		r.report().Warning(fmt.Sprintf("updating the runway PR comment: %s", cerr))
	}
	state, desc := github.StateSuccess, "registered into "+r.Domain
	if v.ValidateOnly {
		desc = "planned; nothing registered"
	}
	if rep != nil && rep.Plan != nil {
		desc += " (" + string(rep.Plan.Decision) + ")"
	}
	if err != nil {
		state, desc = github.StateFailure, firstLineOf(err.Error())
	}
	r.setStatus(ctx, v.Head, state, desc)
	return err
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// requiredPermission is the repository role each command needs, before
// the platform policy is asked (promote).
func requiredPermission(v Verb) string {
	switch v {
	case VerbHelp:
		return "none"
	case VerbPlan:
		return "read"
	}
	return "write"
}

// issueComment handles `/runway ...` comments on pull requests.
func (r *run) issueComment(ctx context.Context, ev *gogithub.IssueCommentEvent) error {
	if ev.GetAction() != "created" {
		return nil // edits and deletions are not commands
	}
	c := ev.GetComment()
	if c.GetUser().GetType() == "Bot" {
		return nil // runway's own replies, and other bots
	}
	cmd, perr := ParseCommand(c.GetBody())
	if errors.Is(perr, ErrNotACommand) {
		return nil
	}
	number, user, id := ev.GetIssue().GetNumber(), c.GetUser().GetLogin(), c.GetID()
	r.clearQueued(ctx, number)
	line := firstLine(c.GetBody())
	r.react(ctx, id, "eyes")
	reply := func(body, reaction string) error {
		r.react(ctx, id, reaction)
		r.report().Summary(body)
		return r.postOnce(ctx, number, body)
	}
	var ue *UsageError
	if errors.As(perr, &ue) {
		return reply(renderRefusal(user, line, md(ue.Msg)+".", "", true), "confused")
	}
	if cmd.Verb == VerbHelp {
		return reply(HelpText(), "+1")
	}
	pr, err := r.GitHub.PullRequest(ctx, r.repo.Owner, r.repo.Name, number)
	if errors.Is(err, github.ErrNotFound) {
		return reply(renderRefusal(user, line, fmt.Sprintf("#%d is an issue, not a pull request; runway's commands act on pull requests.", number), "", false), "confused")
	}
	if err != nil {
		return err
	}
	perm, err := r.GitHub.Permission(ctx, r.repo.Owner, r.repo.Name, user)
	if err != nil {
		return err
	}
	if need := requiredPermission(cmd.Verb); github.PermissionRank(perm) < github.PermissionRank(need) {
		why := fmt.Sprintf("%s needs %s access to this repository, and you have %s access.", code("/runway "+string(cmd.Verb)), md(need), md(perm))
		allowed := "With your access you can use `/runway help`"
		if github.PermissionRank(perm) >= github.PermissionRank("read") {
			allowed += " and `/runway plan`"
		}
		allowed += ". A maintainer can run the command for you."
		return reply(renderRefusal(user, line, why, allowed, false), "confused")
	}
	// Commands act on the head as recorded when the comment was made: the
	// commit the workflow checked out for it. If the PR moved since, the
	// command would act on code nobody asked about.
	at := r.ev.Head
	if at == "" {
		at = pr.HeadSHA
	}
	if at != pr.HeadSHA {
		why := fmt.Sprintf("The pull request's head moved: this command was made against %s, and the head is now %s. "+
			"Look at the new commits, then comment the command again.", code(shortSHA(at)), code(shortSHA(pr.HeadSHA)))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	dir, err := r.Workspace.Checkout(ctx, r.repo, pr.HeadSHA, pr.BaseSHA)
	if err != nil {
		return err
	}
	r.usePRDomain(number)
	switch cmd.Verb {
	case VerbPlan, VerbRegister:
		v := &prView{
			Repo: r.repo.String(), Number: fmt.Sprint(number), Title: pr.Title, Head: pr.HeadSHA, Base: pr.BaseSHA,
			HeadRef: pr.HeadRef, Domain: r.Domain, RunURL: r.RunURL, Fork: pr.Fork(), Author: pr.User,
			ValidateOnly: cmd.Verb == VerbPlan, RequestedBy: user,
		}
		if cmd.Verb == VerbRegister {
			r.setStatus(ctx, v.Head, github.StatePending, "registering at "+user+"'s request")
		}
		err := r.runPR(ctx, dir, v, number, cmd.Verb == VerbRegister)
		reaction := "rocket"
		if err != nil {
			reaction = "confused"
		}
		if rerr := reply(renderPR(v, false), reaction); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	case VerbRun:
		ex, err := r.runTarget(ctx, dir, pr.HeadSHA, cmd.Target, cmd.Inputs)
		if ex != nil {
			r.report().Output("execution", ex.ID)
		}
		if errors.Is(err, store.ErrNotFound) {
			why := fmt.Sprintf("%s is not registered at %s in %s. Comment %s first, then run it.",
				code(cmd.Target), code(shortSHA(pr.HeadSHA)), code(r.Domain), code("/runway register"))
			return reply(renderRefusal(user, line, why, "", false), "confused")
		}
		reaction := "rocket"
		if err != nil || ex.Status != executor.StatusSucceeded {
			reaction = "confused"
		}
		if rerr := reply(renderRun(user, cmd.Target, pr.HeadSHA, r.Domain, ex, err), reaction); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	case VerbPromote:
		return r.promoteCommand(ctx, dir, cmd, pr, user, perm, line, reply)
	}
	return fmt.Errorf("unhandled command %q", cmd.Verb)
}

func (r *run) promoteCommand(ctx context.Context, dir string, cmd Command, pr *github.PullRequest, user, perm, line string, reply func(string, string) error) error {
	to := cmd.Target
	plat := r.Project.Platform
	if _, ok := plat.Domain(to); !ok {
		why := fmt.Sprintf("%s is not a domain of this platform. The domains are %s.", code(to), code(strings.Join(plat.DomainNames(), " -> ")))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	from := promote.AllowedSources(plat, to)
	if len(from) == 0 {
		why := fmt.Sprintf("%s is the first domain: nothing is promoted into it; PRs register into it.", code(to))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	project, err := projectOf(dir)
	if err != nil {
		return err
	}
	src := from[0]
	if _, ok := plat.PRNumber(r.Domain); ok && src == plat.Domains[0].Name {
		src = r.Domain // the PR's own domain stands for the first
	}
	rep, err := flow.Promote(ctx, r.Project, promote.Request{
		Project: project, From: src, To: to, Version: pr.HeadSHA,
		Actor:  promote.Actor{Login: user, Permission: perm, MemberOf: r.memberOf(user)},
		PR:     &promote.PR{Number: pr.Number, URL: pr.URL, Author: pr.User, HeadSHA: pr.HeadSHA},
		Reason: fmt.Sprintf("/runway promote %s on #%d", to, pr.Number),
	})
	var pe *promote.PolicyError
	if errors.As(err, &pe) {
		return reply(renderPolicyRefusal(user, line, pe), "confused")
	}
	if registrar.IsNotFound(err) {
		why := fmt.Sprintf("The PR head %s has no entities in %s to promote. Promote it to %s first.", code(shortSHA(pr.HeadSHA)), code(from[0]), code(from[0]))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	if err != nil {
		r.report().Error(err)
		body := renderRefusal(user, line, "The promotion failed:\n\n"+block(err.Error()), "", false)
		return errors.Join(err, reply(body, "confused"))
	}
	r.report().Output("promoted", promotedJSON(rep))
	r.report().Output("version", rep.Version)
	return reply(renderPromotion(rep, nil, r.RunURL), "rocket")
}

// push handles a push to the default branch: merge-triggered promotion
// (flow.Merge, the same as `runway promote --on-merge`).
func (r *run) push(ctx context.Context, ev *gogithub.PushEvent) error {
	def := ev.GetRepo().GetDefaultBranch()
	if ev.GetRef() != "refs/heads/"+def || ev.GetDeleted() {
		r.report().Notice(fmt.Sprintf("runway: a push to %s is not a merge into the default branch %s; nothing to promote", ev.GetRef(), def))
		return nil
	}
	m := ev.GetAfter()
	prs, err := r.GitHub.PullRequestsForCommit(ctx, r.repo.Owner, r.repo.Name, m)
	if err != nil {
		return err
	}
	var merged *github.PullRequest
	for _, p := range prs {
		if p.Merged && p.MergeCommitSHA == m {
			merged = p
			break
		}
	}
	if merged == nil {
		r.report().Notice(fmt.Sprintf("runway: %s is not the merge of a pull request; nothing to promote", m))
		r.report().Summary(fmt.Sprintf("runway: %s on %s is not the merge of a pull request; nothing was promoted.\n", code(shortSHA(m)), code(def)))
		return nil
	}
	dir, err := r.Workspace.Checkout(ctx, r.repo, m, merged.HeadSHA)
	if err != nil {
		r.report().Error(err)
		return err
	}
	project, err := projectOf(dir)
	if err != nil {
		r.report().Error(err)
		return err
	}
	to := r.Project.Platform.Promote.OnMerge
	actor := promote.Actor{Login: ev.GetSender().GetLogin()}
	if actor.Login == "" {
		actor.Login = ev.GetPusher().GetName() // the pusher's login, on github.com
	}
	actor.MemberOf = r.memberOf(actor.Login)
	if actor.Login != "" {
		if actor.Permission, err = r.GitHub.Permission(ctx, r.repo.Owner, r.repo.Name, actor.Login); err != nil {
			return err
		}
	}
	r.setStatus(ctx, m, github.StatePending, "promoting the merge of #"+fmt.Sprint(merged.Number)+" to "+to)
	prDomain, perPR := r.Project.Platform.PRDomain(merged.Number)
	from := ""
	if perPR {
		from = prDomain // what the PR registered and tested
	}
	rep, err := flow.Merge(ctx, r.Project, flow.MergeRequest{
		Repo: dir, MergeSHA: m, PRHead: merged.HeadSHA,
		Promote: promote.Request{Project: project, From: from, To: to, Actor: actor,
			PR:     &promote.PR{Number: merged.Number, URL: merged.URL, Author: merged.User, HeadSHA: merged.HeadSHA, MergeSHA: m},
			Reason: fmt.Sprintf("merge of #%d", merged.Number)},
	})
	if err != nil {
		r.report().Error(err)
		body := fmt.Sprintf("### ❌ runway could not promote the merge of this PR to %s\n\n%s", code(to), block(err.Error()))
		var pe *promote.PolicyError
		if errors.As(err, &pe) {
			body = renderPolicyRefusal(actor.Login, "promotion on merge", pe)
		}
		r.report().Summary(body)
		if cerr := r.postOnce(ctx, merged.Number, body); cerr != nil {
			r.report().Warning(fmt.Sprintf("commenting on #%d: %s", merged.Number, cerr))
		}
		r.setStatus(ctx, m, github.StateFailure, firstLineOf(err.Error()))
		return err
	}
	r.report().Output("version", rep.Version)
	r.report().Output("promoted", promotedJSON(rep.Promotion))
	if reg := rep.Registration; reg != nil && reg.Register != nil {
		r.report().Output("entities", entitiesJSON(reg.Register.Entities))
	}
	body := renderPromotion(rep.Promotion, rep, r.RunURL)
	r.report().Summary(body)
	if err := r.postOnce(ctx, merged.Number, body); err != nil {
		r.report().Warning(fmt.Sprintf("commenting on #%d: %s", merged.Number, err))
	}
	r.setStatus(ctx, m, github.StateSuccess, "promoted to "+to+" ("+rep.Path+")")
	if perPR { // promoted: the PR's domain has served
		_ = r.removeDomain(ctx, project, prDomain, fmt.Sprintf("pull request #%d merged and promoted", merged.Number)) // warned; the gc's TTL retries
	}
	return nil
}

// usePRDomain makes pull request number's own domain the one this event
// registers into and runs in, when the platform gives PRs their own.
func (r *run) usePRDomain(number int) {
	if d, ok := r.Project.Platform.PRDomain(number); ok {
		r.Domain = d
	}
}

// closed removes a closed PR's own domain. A merged PR's domain is removed
// by the merge promotion (push), after it promoted from it; the TTL of
// `runway gc` catches one whose push never came.
func (r *run) closed(ctx context.Context, ev *gogithub.PullRequestEvent) error {
	pr := ev.GetPullRequest()
	d, ok := r.Project.Platform.PRDomain(pr.GetNumber())
	if !ok {
		r.report().Notice("runway: nothing to do for pull_request \"closed\" (no per-PR domains)")
		return nil
	}
	if pr.GetMerged() {
		r.report().Notice(fmt.Sprintf("runway: #%d was merged; its domain %s goes once the merge is promoted", pr.GetNumber(), d))
		return nil
	}
	projects, err := flow.ProjectsIn(ctx, r.Project, d)
	if err != nil {
		return err
	}
	var errs []error
	for _, project := range projects { // no checkout needed: the store knows
		errs = append(errs, r.removeDomain(ctx, project, d, fmt.Sprintf("pull request #%d closed", pr.GetNumber())))
	}
	return errors.Join(errs...)
}

func (r *run) removeDomain(ctx context.Context, project, domain, reason string) error {
	rep, err := flow.RemoveDomain(ctx, r.Project, flow.RemoveRequest{Project: project, Domain: domain, Reason: reason})
	if err != nil {
		r.report().Warning(fmt.Sprintf("removing domain %s: %s", domain, err))
		return err
	}
	msg := fmt.Sprintf("runway removed domain %s (%s): %d tag(s), %d launch plan(s) deactivated", domain, reason, len(rep.Removed), len(rep.Deactivated))
	r.report().Notice(msg)
	for _, f := range rep.Refused {
		r.report().Warning(fmt.Sprintf("the registry refused to delete %s: %s (kept in the removal record)", f.Ref, f.Error))
	}
	r.report().Summary(msg + "\n")
	return nil
}

// runTarget runs a workflow or launch plan ("train", "workflow/train",
// "launchplan/nightly") at version and waits for it.
func (r *run) runTarget(ctx context.Context, dir, version, target string, kvs []KV) (*executor.Execution, error) {
	project, err := projectOf(dir)
	if err != nil {
		return nil, err
	}
	kind, name := registrar.KindWorkflow, target
	if k, n, ok := strings.Cut(target, "/"); ok {
		if kind, err = registrar.ParseKind(k); err != nil {
			return nil, err
		}
		name = n
	}
	if kind == registrar.KindTask {
		return nil, fmt.Errorf("run a workflow or a launch plan, not a task (%q)", target)
	}
	args := make([]string, len(kvs))
	for i, kv := range kvs {
		args[i] = kv.Key + "=" + kv.Value
	}
	inputs, err := executor.ParseInputArgs(args, "")
	if err != nil {
		return nil, err
	}
	return flow.Run(ctx, r.Project, flow.RunRequest{Wait: true, Inputs: inputs,
		Target: registrar.ID{Project: project, Domain: r.Domain, Kind: kind, Name: name, Version: version}})
}

// projectOf names the project of the checkout.
func projectOf(dir string) (string, error) {
	s, err := spec.Load(dir)
	if err != nil {
		return "", err
	}
	return s.Project, nil
}

// PRReport is what the PR pipeline did, as the comment shows it.
type PRReport struct {
	Plan     *plan.Result
	Package  *flow.PackageReport
	Register *flow.RegisterReport
	// Validated is the spec that passed validation, when nothing was
	// written.
	Validated *spec.Spec
	// Execution is the run the Bot's Run asked for, if any.
	Execution *executor.Execution
}

func reportOf(r *flow.PRReport, validateOnly bool) *PRReport {
	if r == nil {
		return &PRReport{}
	}
	out := &PRReport{Plan: r.Plan, Package: r.Package, Register: r.Register}
	if validateOnly {
		out.Validated = r.Spec
	}
	return out
}
