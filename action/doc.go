// Package action is runway's GitHub Action: `runway action`, run by the
// composite action.yml at the repository root. It receives an event the
// Actions way and reports back the Actions way; every step of the work is
// runway's flow (internal/flow, promote), reached through Pipeline, so the
// Action, the CLI and the webhook server cannot drift apart.
//
// # Events
//
//   - pull_request opened/synchronize/reopened: plan base..head, package
//     (image only if missing, code bundle), register the head into the
//     domain input; one sticky PR comment, found by a hidden marker at the
//     start of a comment by a bot or a collaborator and edited in place on
//     every push; the commit status `runway` (a status, not a check run:
//     GITHUB_TOKEN can write statuses on fork PRs' base repository, and a
//     status needs no GitHub App).
//   - issue_comment created: `/runway plan|register|run|promote <domain>|help`
//     (ParseCommand, pure). runway reacts 👀 at once, then 🚀 or 😕, and
//     answers in a reply. Authorization: the commenter's role comes from
//     GET /repos/{o}/{r}/collaborators/{user}/permission (role_name, so
//     maintain and triage are told apart); plan needs read, register, run
//     and promote need write, and promote additionally passes the actor's
//     login and role to the platform policy (promotion.rules: actors,
//     requiredPermission, ...), which may ask for more. Refusals are replies
//     that say what is allowed, and the step succeeds: a refusal is an answer.
//   - push to the default branch: the PR whose merge_commit_sha is the
//     pushed commit is found (GET commits/{sha}/pulls) and its entities are
//     promoted into promotion.onMerge (staging by default): when the merge
//     tree equals the tested head tree, the head's entities; otherwise the
//     merge commit is registered first. The record names the PR.
//
// # The head a command acts on
//
// A command acts on the PR head "as recorded when the comment was made".
// The Action records it as the commit its workflow checked out for the
// comment (refs/pull/N/head at run time; see the example workflow) and
// refuses, saying so, when GitHub reports a different head by the time
// runway acts. A push between comment and checkout is caught by the same
// comparison only if it lands after the checkout; the webhook server,
// which sees the comment as it happens, records the head itself.
//
// # Forks and untrusted text
//
// Under pull_request from a fork the token is read-only and secrets are
// absent: runway validates and plans, writes nothing to GitHub or the
// store, and says in the job summary that registration needs a maintainer's
// `/runway register` (which then runs in the base repository's context,
// after a person with write access asked for it). PR titles, branch names,
// comment text, file paths and error messages are never passed to a shell
// (action.yml passes inputs as INPUT_* variables, never through ${{ }} in
// a script) and are escaped in every Markdown output (md, code, block):
// no HTML, links, images, mentions or issue references can be injected,
// and the sticky marker cannot be forged inside a comment runway writes.
//
// # How users get the binary
//
// action.yml is a composite action that builds runway from the action's own
// source, at the commit the user pins (`uses: runway-ci/runway@<sha>`), with
// -mod=readonly so go.sum verifies every module. This is the one form that
// pins everything by content without a release pipeline, and the one that
// runs where no Docker engine does (act on a host runner; self-hosted
// runners without Docker). A `docker://` image built by runway's own
// packager would start faster (no build, about a minute on a hosted runner)
// and is the convention for Go actions with releases; it should be added
// next to this once runway publishes images by digest.
//
// # Outputs
//
// decision, version, image, bundle, entities (JSON), execution and
// promoted (JSON) through GITHUB_OUTPUT; the same report as the PR comment
// in GITHUB_STEP_SUMMARY; spec.Errors as `::error file=,line=,title=::`
// annotations with paths relative to the workspace.
//
// Runs: the run input ("train", "workflow/train", "launchplan/nightly")
// executes after the PR head is registered, and `/runway run NAME k=v ...`
// (write access) runs at the PR head; both go through flow.Run on the local
// executor and report the execution (nodes, cache, outputs) in the comment,
// the summary and the execution output. A target not registered at the
// head gets a polite refusal that points at /runway register.
//
// Not wired yet: team actors ("@org/team") in promotion rules (the Action
// passes no teams, so such a rule refuses and says who may promote).
package action
