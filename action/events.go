package action

import (
	"context"
	"errors"
	"fmt"
	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/internal/store"
	"strings"

	gogithub "github.com/google/go-github/v60/github"

	"github.com/runway-ci/runway/internal/github"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// pullRequest runs the PR pipeline on opened, synchronize and reopened.
func (r *runner) pullRequest(ctx context.Context, ev *gogithub.PullRequestEvent) error {
	switch ev.GetAction() {
	case "opened", "synchronize", "reopened":
	default:
		r.a.Infof("runway: nothing to do for pull_request %q", ev.GetAction())
		return nil
	}
	r.repoFrom(ev.GetRepo())
	pr := ev.GetPullRequest()
	v := &prView{
		Repo: r.owner + "/" + r.repo, Number: fmt.Sprint(pr.GetNumber()), Title: pr.GetTitle(),
		Head: pr.GetHead().GetSHA(), Base: pr.GetBase().GetSHA(), HeadRef: pr.GetHead().GetRef(),
		Domain: r.in.Domain, RunURL: r.runURL,
	}
	// A deleted fork has no head repository: treat it as a fork.
	v.Fork = pr.GetHead().GetRepo().GetFullName() != pr.GetBase().GetRepo().GetFullName()
	v.ValidateOnly, v.RegistrationMissing = v.Fork, v.Fork
	at, err := r.checkoutHead()
	if err == nil && at != v.Head {
		err = fmt.Errorf("the checkout is at %s but the pull request head is %s: check out the head "+
			"(actions/checkout with ref: ${{ github.event.pull_request.head.sha }} and fetch-depth: 0)", at, v.Head)
	}
	if err != nil {
		r.a.Errorf("%s", err)
		return err
	}
	if !v.Fork {
		r.setStatus(ctx, v.Head, github.StatePending, "planning and registering")
	}
	return r.runPR(ctx, v, pr.GetNumber(), !v.Fork)
}

// runPR runs the PR pipeline for v and reports it everywhere; write says
// whether the token may write (comment, status).
func (r *runner) runPR(ctx context.Context, v *prView, number int, write bool) error {
	rep, err := r.pipeline.PR(ctx, PRRequest{Repo: r.dir, Base: v.Base, Head: v.Head, Domain: r.in.Domain, ValidateOnly: v.ValidateOnly})
	v.Report, v.Err = rep, err
	r.annotate(err)
	if rep != nil && rep.Plan != nil {
		r.a.SetOutput("decision", string(rep.Plan.Decision))
	}
	r.a.SetOutput("version", v.Head)
	r.a.SetOutput("image", imageOf(rep))
	r.a.SetOutput("bundle", bundleOf(rep))
	if reg := registerOf(rep); reg != nil {
		r.a.SetOutput("entities", entitiesJSON(reg.Entities))
	} else {
		r.a.SetOutput("entities", "[]")
	}
	r.a.SetOutput("execution", "")
	if r.in.Run != "" && err == nil && !v.ValidateOnly {
		ex, rerr := r.pipeline.Run(ctx, RunRequest{Repo: r.dir, Domain: r.in.Domain, Version: v.Head, Target: r.in.Run})
		rep.Execution = ex
		if ex != nil {
			r.a.SetOutput("execution", ex.ID)
		}
		switch {
		case rerr != nil:
			err = fmt.Errorf("running %s: %w", r.in.Run, rerr)
		case ex.Status != executor.StatusSucceeded:
			err = fmt.Errorf("running %s: execution %s %s: %s", r.in.Run, ex.ID, ex.Status, ex.Error)
		}
		v.Err = err
		if err != nil {
			r.a.Errorf("%s", err)
		}
	}
	r.a.AddStepSummary(renderPR(v, false))
	if !write {
		return err
	}
	if cerr := r.upsertSticky(ctx, number, renderPR(v, true)); cerr != nil {
		r.a.Warningf("updating the runway PR comment: %s", cerr)
	}
	state, desc := github.StateSuccess, "registered into "+r.in.Domain
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
func (r *runner) issueComment(ctx context.Context, ev *gogithub.IssueCommentEvent) error {
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
	r.repoFrom(ev.GetRepo())
	number, user, id := ev.GetIssue().GetNumber(), c.GetUser().GetLogin(), c.GetID()
	line := firstLine(c.GetBody())
	r.react(ctx, id, "eyes")
	reply := func(body, reaction string) error {
		r.react(ctx, id, reaction)
		r.a.AddStepSummary(body)
		_, err := r.gh.CreateComment(ctx, r.owner, r.repo, number, body)
		return err
	}
	var ue *UsageError
	if errors.As(perr, &ue) {
		return reply(renderRefusal(user, line, md(ue.Msg)+".", "", true), "confused")
	}
	if cmd.Verb == VerbHelp {
		return reply(HelpText(), "+1")
	}
	pr, err := r.gh.PullRequest(ctx, r.owner, r.repo, number)
	if errors.Is(err, github.ErrNotFound) {
		return reply(renderRefusal(user, line, fmt.Sprintf("#%d is an issue, not a pull request; runway's commands act on pull requests.", number), "", false), "confused")
	}
	if err != nil {
		return err
	}
	perm, err := r.gh.Permission(ctx, r.owner, r.repo, user)
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
	at, err := r.checkoutHead()
	if err != nil {
		return err
	}
	if at != pr.HeadSHA {
		why := fmt.Sprintf("The pull request's head moved: this command was made against %s, and the head is now %s. "+
			"Look at the new commits, then comment the command again.", code(shortSHA(at)), code(shortSHA(pr.HeadSHA)))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	switch cmd.Verb {
	case VerbPlan, VerbRegister:
		v := &prView{
			Repo: r.owner + "/" + r.repo, Number: fmt.Sprint(number), Title: pr.Title, Head: pr.HeadSHA, Base: pr.BaseSHA,
			HeadRef: pr.HeadRef, Domain: r.in.Domain, RunURL: r.runURL, Fork: pr.Fork(),
			ValidateOnly: cmd.Verb == VerbPlan, RequestedBy: user,
		}
		if cmd.Verb == VerbRegister {
			r.setStatus(ctx, v.Head, github.StatePending, "registering at "+user+"'s request")
		}
		err := r.runPR(ctx, v, number, cmd.Verb == VerbRegister)
		reaction := "rocket"
		if err != nil {
			reaction = "confused"
		}
		if rerr := reply(renderPR(v, false), reaction); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	case VerbRun:
		ex, err := r.pipeline.Run(ctx, RunRequest{Repo: r.dir, Domain: r.in.Domain, Version: pr.HeadSHA, Target: cmd.Target, Inputs: cmd.Inputs})
		if ex != nil {
			r.a.SetOutput("execution", ex.ID)
		}
		if errors.Is(err, store.ErrNotFound) {
			why := fmt.Sprintf("%s is not registered at %s in %s. Comment %s first, then run it.",
				code(cmd.Target), code(shortSHA(pr.HeadSHA)), code(r.in.Domain), code("/runway register"))
			return reply(renderRefusal(user, line, why, "", false), "confused")
		}
		reaction := "rocket"
		if err != nil || ex.Status != executor.StatusSucceeded {
			reaction = "confused"
		}
		if rerr := reply(renderRun(user, cmd.Target, pr.HeadSHA, r.in.Domain, ex, err), reaction); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	case VerbPromote:
		return r.promoteCommand(ctx, cmd, pr, user, perm, line, reply)
	}
	return fmt.Errorf("unhandled command %q", cmd.Verb)
}

func (r *runner) promoteCommand(ctx context.Context, cmd Command, pr *github.PullRequest, user, perm, line string, reply func(string, string) error) error {
	to := cmd.Target
	if _, ok := r.plat.Domain(to); !ok {
		why := fmt.Sprintf("%s is not a domain of this platform. The domains are %s.", code(to), code(strings.Join(r.plat.DomainNames(), " -> ")))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	from := promote.AllowedSources(r.plat, to)
	if len(from) == 0 {
		why := fmt.Sprintf("%s is the first domain: nothing is promoted into it; PRs register into it.", code(to))
		return reply(renderRefusal(user, line, why, "", false), "confused")
	}
	rep, err := r.pipeline.Promote(ctx, PromoteRequest{
		Repo: r.dir, From: from[0], To: to, Version: pr.HeadSHA,
		Actor:  promote.Actor{Login: user, Permission: perm},
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
		r.annotate(err)
		body := renderRefusal(user, line, "The promotion failed:\n\n"+block(err.Error()), "", false)
		return errors.Join(err, reply(body, "confused"))
	}
	r.a.SetOutput("promoted", promotedJSON(rep))
	r.a.SetOutput("version", rep.Version)
	return reply(renderPromotion(rep, nil, r.runURL), "rocket")
}

// push handles a push to the default branch: merge-triggered promotion.
func (r *runner) push(ctx context.Context, ev *gogithub.PushEvent) error {
	if r.owner == "" || r.repo == "" {
		r.owner, r.repo = ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
		if r.owner == "" {
			r.owner = ev.GetRepo().GetOwner().GetName()
		}
	}
	def := ev.GetRepo().GetDefaultBranch()
	if ev.GetRef() != "refs/heads/"+def || ev.GetDeleted() {
		r.a.Infof("runway: a push to %s is not a merge into the default branch %s; nothing to promote", ev.GetRef(), def)
		return nil
	}
	m := ev.GetAfter()
	prs, err := r.gh.PullRequestsForCommit(ctx, r.owner, r.repo, m)
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
		r.a.Infof("runway: %s is not the merge of a pull request; nothing to promote", m)
		r.a.AddStepSummary(fmt.Sprintf("runway: %s on %s is not the merge of a pull request; nothing was promoted.\n", code(shortSHA(m)), code(def)))
		return nil
	}
	at, err := r.checkoutHead()
	if err == nil && at != m {
		err = fmt.Errorf("the checkout is at %s but the push brought %s: check out the pushed commit with fetch-depth: 0", at, m)
	}
	if err != nil {
		r.a.Errorf("%s", err)
		return err
	}
	to := r.plat.Promote.OnMerge
	from := promote.AllowedSources(r.plat, to)
	if len(from) == 0 {
		return fmt.Errorf("platform config: promotion.onMerge names %q, which nothing may be promoted into", to)
	}
	actor := promote.Actor{Login: ev.GetSender().GetLogin()}
	if actor.Login == "" {
		actor.Login = ev.GetPusher().GetName() // the pusher's login, on github.com
	}
	if actor.Login != "" {
		if actor.Permission, err = r.gh.Permission(ctx, r.owner, r.repo, actor.Login); err != nil {
			return err
		}
	}
	r.setStatus(ctx, m, github.StatePending, "promoting the merge of #"+fmt.Sprint(merged.Number)+" to "+to)
	rep, err := r.pipeline.OnMerge(ctx, MergeRequest{
		Repo: r.dir, MergeSHA: m, HeadSHA: merged.HeadSHA, From: from[0], To: to, Actor: actor,
		PR: &promote.PR{Number: merged.Number, URL: merged.URL, Author: merged.User, HeadSHA: merged.HeadSHA, MergeSHA: m},
	})
	if err != nil {
		r.annotate(err)
		body := fmt.Sprintf("### ❌ runway could not promote the merge of this PR to %s\n\n%s", code(to), block(err.Error()))
		var pe *promote.PolicyError
		if errors.As(err, &pe) {
			body = renderPolicyRefusal(actor.Login, "promotion on merge", pe)
		}
		r.a.AddStepSummary(body)
		if _, cerr := r.gh.CreateComment(ctx, r.owner, r.repo, merged.Number, body); cerr != nil {
			r.a.Warningf("commenting on #%d: %s", merged.Number, cerr)
		}
		r.setStatus(ctx, m, github.StateFailure, firstLineOf(err.Error()))
		return err
	}
	r.a.SetOutput("version", rep.Version)
	r.a.SetOutput("promoted", promotedJSON(rep.Promote))
	if rep.Register != nil {
		r.a.SetOutput("entities", entitiesJSON(rep.Register.Entities))
	}
	body := renderPromotion(rep.Promote, rep, r.runURL)
	r.a.AddStepSummary(body)
	if _, err := r.gh.CreateComment(ctx, r.owner, r.repo, merged.Number, body); err != nil {
		r.a.Warningf("commenting on #%d: %s", merged.Number, err)
	}
	r.setStatus(ctx, m, github.StateSuccess, "promoted to "+to+" ("+rep.Path+")")
	return nil
}
