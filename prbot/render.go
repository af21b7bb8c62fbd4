package prbot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/runway-ci/runway/executor"
	"github.com/runway-ci/runway/flow"
	"github.com/runway-ci/runway/internal/plan"
	"github.com/runway-ci/runway/internal/store"
	"github.com/runway-ci/runway/promote"
	"github.com/runway-ci/runway/registrar"
)

// StickyMarker is the hidden HTML comment that identifies runway's sticky
// comment on a pull request. It is matched only at the very start of a
// comment written by a bot, so a person quoting it cannot take it over.
const StickyMarker = "<!-- runway:sticky -->"

// maxReasons bounds the rows of the "why" table; GitHub comments are
// limited to 65,536 characters.
const maxReasons = 50

// maxCommentBytes is GitHub's limit on a comment body.
const maxCommentBytes = 65536

// prView is everything the PR comment and the job summary show.
type prView struct {
	Repo, Number        string
	Title               string
	Head, Base          string
	HeadRef             string
	Domain              string
	Fork                bool
	ValidateOnly        bool // fork or /runway plan: nothing written
	Report              *PRReport
	Err                 error
	RunURL              string
	RequestedBy         string // the commenter, for /runway register and plan
	RegistrationMissing bool   // a fork PR: registration needs a maintainer
	Author              string // the PR author: approvals by others count
	// Against is what the last domain (production) would get if the PR
	// were merged and promoted.
	Against *flow.AgainstReport
}

func (v *prView) state() (icon, word string) {
	switch {
	case v.Err != nil:
		return "❌", "failed"
	case v.ValidateOnly:
		return "🔎", "planned"
	}
	return "✅", "registered"
}

// renderPR renders the PR comment (sticky) or, with sticky false, the job
// summary: the same content, the summary without the marker.
func renderPR(v *prView, sticky bool) string {
	var b strings.Builder
	if sticky {
		b.WriteString(StickyMarker + "\n")
	}
	icon, word := v.state()
	project := ""
	switch {
	case v.Report == nil:
	case v.Report.Register != nil:
		project = v.Report.Register.Project
	case v.Report.Validated != nil:
		project = v.Report.Validated.Project
	}
	fmt.Fprintf(&b, "### %s runway %s %s at %s", icon, word, code(project), code(shortSHA(v.Head)))
	if !v.ValidateOnly && v.Err == nil {
		fmt.Fprintf(&b, " into %s", code(v.Domain))
	}
	b.WriteString("\n\n")
	if v.RequestedBy != "" {
		fmt.Fprintf(&b, "Requested by %s.\n\n", code(v.RequestedBy))
	}
	if v.RegistrationMissing {
		b.WriteString("> [!NOTE]\n> This pull request comes from a fork. Its workflow runs with a read-only token and no secrets, " +
			"so runway validated and planned it but registered nothing. A maintainer can register it with a comment: `/runway register`.\n\n")
	}
	if v.Err != nil {
		b.WriteString("**Error**\n\n")
		b.WriteString(block(v.Err.Error()))
		b.WriteString("\n")
	}
	if v.Report != nil {
		writePlan(&b, v.Report.Plan)
		writeArtifacts(&b, v.Report)
		if v.Report.Register != nil {
			writeEntities(&b, v.Report.Register.Entities)
		}
		if ex := v.Report.Execution; ex != nil {
			writeExecution(&b, ex)
		}
		writeAgainst(&b, v.Against)
		if s := v.Report.Validated; s != nil {
			fmt.Fprintf(&b, "`runway.yaml` is valid: %d task(s), %d workflow(s), %d launch plan(s) would be registered.\n\n",
				len(s.Tasks), len(s.Workflows), len(s.LaunchPlans))
		}
	}
	if v.RunURL != "" {
		fmt.Fprintf(&b, "[Workflow run](%s)", v.RunURL)
		b.WriteString(" · ")
	}
	fmt.Fprintf(&b, "base %s · head %s", code(shortSHA(v.Base)), code(shortSHA(v.Head)))
	if v.HeadRef != "" {
		fmt.Fprintf(&b, " (%s)", code(v.HeadRef))
	}
	b.WriteString("\n\n<sub>Comment `/runway help` for the commands runway understands.</sub>\n")
	return clip(b.String())
}

func writePlan(b *strings.Builder, p *plan.Result) {
	if p == nil {
		return
	}
	why := map[plan.Decision]string{
		plan.Image:  "dependency files changed: a new dependency image, with the code as a bundle on top",
		plan.Bundle: "only code changed: the existing image is reused and the code ships as a bundle (fast registration)",
		plan.None:   "nothing that reaches an entity changed: the existing image and bundle are reused",
	}[p.Decision]
	fmt.Fprintf(b, "**Decision: %s** — %s.\n\n", md(string(p.Decision)), why)
	if len(p.Reasons) == 0 {
		return
	}
	fmt.Fprintf(b, "<details><summary>Why: %d changed path(s)</summary>\n\n| path | rule | effect |\n|---|---|---|\n", len(p.Changed))
	reasons := append([]plan.Reason(nil), p.Reasons...)
	sort.SliceStable(reasons, func(i, j int) bool { return rank(reasons[i].Effect) > rank(reasons[j].Effect) })
	for i, r := range reasons {
		if i == maxReasons {
			fmt.Fprintf(b, "| … %d more | | |\n", len(reasons)-maxReasons)
			break
		}
		path := code(r.Path)
		if r.Path == "" {
			path = "(store)"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", path, md(r.Rule), md(string(r.Effect)))
	}
	b.WriteString("\n</details>\n\n")
}

func rank(d plan.Decision) int {
	switch d {
	case plan.Image:
		return 2
	case plan.Bundle:
		return 1
	}
	return 0
}

func writeArtifacts(b *strings.Builder, r *PRReport) {
	img, bundle := "", ""
	if r.Package != nil {
		img = r.Package.Image.Ref
		if r.Package.Image.Built {
			img += " (built)"
		} else if r.Package.Image.Reused {
			img += " (reused)"
		}
		bundle = r.Package.Bundle.Digest
		if bundle != "" {
			bundle += fmt.Sprintf(" (%d files, %d bytes", r.Package.Bundle.Files, r.Package.Bundle.Size)
			if !r.Package.Bundle.Uploaded {
				bundle += ", already stored"
			}
			bundle += ")"
		}
	} else if r.Register != nil {
		img, bundle = r.Register.Image, r.Register.Bundle
	}
	if img == "" && bundle == "" {
		return
	}
	b.WriteString("| | |\n|---|---|\n")
	if img != "" {
		fmt.Fprintf(b, "| image | %s |\n", code(img))
	}
	if bundle != "" {
		fmt.Fprintf(b, "| bundle | %s |\n", code(bundle))
	}
	b.WriteString("\n")
}

func writeEntities(b *strings.Builder, res []registrar.Result) {
	if len(res) == 0 {
		return
	}
	counts := map[registrar.Status]int{}
	for _, r := range res {
		counts[r.Status]++
	}
	fmt.Fprintf(b, "<details><summary>Entities: %d created, %d unchanged", counts[registrar.StatusCreated], counts[registrar.StatusUnchanged])
	if n := counts[registrar.StatusPlanned]; n > 0 {
		fmt.Fprintf(b, ", %d would be created", n)
	}
	if n := counts[registrar.StatusFailed] + counts[registrar.StatusSkipped]; n > 0 {
		fmt.Fprintf(b, ", %d not written", n)
	}
	b.WriteString("</summary>\n\n| kind | name | status | digest |\n|---|---|---|---|\n")
	for _, r := range res {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", md(string(r.ID.Kind)), code(r.ID.Name), md(string(r.Status)), code(store.ShortDigest(r.Digest.String())))
	}
	b.WriteString("\n</details>\n\n")
}

// renderPromotion renders the reply to /runway promote, and the merge
// comment.
func renderPromotion(rep *promote.Report, merge *flow.MergeReport, runURL string) string {
	var b strings.Builder
	if merge != nil {
		fmt.Fprintf(&b, "### 🚀 runway promoted the merge of this PR to %s\n\n", code(rep.To))
		fmt.Fprintf(&b, "Path: **%s** — %s.\n\n", md(merge.Path), md(merge.Reason))
		if r := merge.Registration; r != nil && r.Register != nil {
			b.WriteString("The merge commit was registered into " + code(r.Register.Domain) + " first.\n\n")
		}
	} else {
		fmt.Fprintf(&b, "### 🚀 runway promoted %s from %s to %s\n\n", code(shortSHA(rep.Version)), code(rep.From), code(rep.To))
	}
	c := rep.Counts()
	fmt.Fprintf(&b, "%d promoted, %d unchanged", c[promote.StatusPromoted]+c[promote.StatusCompleted], c[promote.StatusUnchanged])
	if rep.Actor != "" {
		fmt.Fprintf(&b, ", by %s", code(rep.Actor))
	}
	b.WriteString(".\n\n| kind | name | status | manifest |\n|---|---|---|---|\n")
	for _, e := range rep.Entities {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", md(string(e.ID.Kind)), code(e.ID.Name), md(string(e.Status)), code(store.ShortDigest(e.Manifest.String())))
	}
	for _, a := range rep.Activations {
		if a == nil {
			continue
		}
		fmt.Fprintf(&b, "\nLaunch plan %s in %s: %s", code(a.ID.Name), code(a.ID.Domain), md(a.Status))
		if a.Previous != "" {
			fmt.Fprintf(&b, " (previously active: %s)", code(shortSHA(a.Previous)))
		}
		if a.Schedule != "" {
			fmt.Fprintf(&b, ", schedule %s", code(a.Schedule))
		}
		b.WriteString("\n")
	}
	if runURL != "" {
		fmt.Fprintf(&b, "\n[Workflow run](%s)\n", runURL)
	}
	return clip(b.String())
}

// renderRefusal is the polite answer to a command runway will not run.
func renderRefusal(user, command, why string, allowed string, help bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "🙅 Sorry %s, runway did not run %s.\n\n%s\n", code(user), code(command), why)
	if allowed != "" {
		b.WriteString("\n" + allowed + "\n")
	}
	if help {
		b.WriteString("\n" + HelpText() + "\n")
	}
	return clip(b.String())
}

// renderPolicyRefusal explains a promote.PolicyError rule by rule.
func renderPolicyRefusal(user, command string, pe *promote.PolicyError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The platform's promotion policy does not allow promoting %s from %s to %s:\n\n| rule | why | what would satisfy it |\n|---|---|---|\n",
		code(shortSHA(pe.Version)), code(pe.From), code(pe.To))
	for _, v := range pe.Violations {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", code(v.Rule), md(v.Reason), md(v.Satisfy))
	}
	return renderRefusal(user, command, b.String(), "", false)
}

// entitiesJSON is the `entities` output.
func entitiesJSON(res []registrar.Result) string {
	type ent struct {
		Kind    string `json:"kind"`
		Name    string `json:"name"`
		Domain  string `json:"domain"`
		Version string `json:"version"`
		Digest  string `json:"digest"`
		Status  string `json:"status"`
	}
	out := []ent{}
	for _, r := range res {
		out = append(out, ent{string(r.ID.Kind), r.ID.Name, r.ID.Domain, r.ID.Version, r.Digest.String(), string(r.Status)})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// promotedJSON is the `promoted` output.
func promotedJSON(rep *promote.Report) string {
	type ent struct {
		Kind     string `json:"kind"`
		Name     string `json:"name"`
		Domain   string `json:"domain"`
		Version  string `json:"version"`
		Manifest string `json:"manifest"`
		Status   string `json:"status"`
		Record   string `json:"record,omitempty"`
	}
	out := struct {
		From     string `json:"from"`
		To       string `json:"to"`
		Version  string `json:"version"`
		Entities []ent  `json:"entities"`
	}{From: rep.From, To: rep.To, Version: rep.Version, Entities: []ent{}}
	for _, e := range rep.Entities {
		out.Entities = append(out.Entities, ent{string(e.ID.Kind), e.ID.Name, e.ID.Domain, e.ID.Version, e.Manifest.String(), string(e.Status), e.Record})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func imageOf(r *PRReport) string {
	if r == nil {
		return ""
	}
	if r.Package != nil {
		return r.Package.Image.Ref
	}
	if r.Register != nil {
		return r.Register.Image
	}
	return ""
}

func bundleOf(r *PRReport) string {
	if r == nil {
		return ""
	}
	if r.Package != nil {
		return r.Package.Bundle.Digest
	}
	if r.Register != nil {
		return r.Register.Bundle
	}
	return ""
}

func registerOf(r *PRReport) *flow.RegisterReport {
	if r == nil {
		return nil
	}
	return r.Register
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// clip keeps a comment within GitHub's limit.
func clip(s string) string {
	if len(s) <= maxCommentBytes {
		return s
	}
	const tail = "\n\n… (cut: the full report is in the job summary)\n"
	cut := maxCommentBytes - len(tail)
	for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + tail
}

// writeExecution renders an execution: status, per-node cache and
// duration, and the outputs (values, or digests for files).
func writeExecution(b *strings.Builder, ex *executor.Execution) {
	v := executor.View(ex, time.Now())
	fmt.Fprintf(b, "**Execution %s: %s** (%s, %s)\n\n", code(v.ID), md(string(v.Status)), code(v.Target), md(v.Duration))
	if v.Error != "" {
		b.WriteString(block(v.Error))
		b.WriteString("\n")
	}
	b.WriteString("| node | status | cache | attempts | duration |\n|---|---|---|---|---|\n")
	for _, n := range v.Nodes {
		fmt.Fprintf(b, "| %s | %s | %s | %d | %s |\n", code(n.ID), md(string(n.Status)), md(string(n.Cache)), n.Attempts, md(n.Duration))
	}
	b.WriteString("\n")
	if len(v.Outputs) > 0 {
		b.WriteString("| output | value |\n|---|---|\n")
		keys := make([]string, 0, len(v.Outputs))
		for k := range v.Outputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "| %s | %s |\n", code(k), code(fmt.Sprint(v.Outputs[k])))
		}
		b.WriteString("\n")
	}
}

// renderRun is the reply to `/runway run`.
func renderRun(user, target, head, domain string, ex *executor.Execution, err error) string {
	var b strings.Builder
	icon := "✅"
	if err != nil || ex == nil || ex.Status != executor.StatusSucceeded {
		icon = "❌"
	}
	fmt.Fprintf(&b, "### %s runway run %s at %s in %s\n\nRequested by %s.\n\n", icon, code(target), code(shortSHA(head)), code(domain), code(user))
	if err != nil {
		b.WriteString("**Error**\n\n")
		b.WriteString(block(err.Error()))
		b.WriteString("\n")
	}
	if ex != nil {
		writeExecution(&b, ex)
	}
	return clip(b.String())
}
