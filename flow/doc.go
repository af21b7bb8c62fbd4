// Package flow is runway's one pipeline, in DESIGN.md's order: plan ->
// package -> register (PR), promote on merge (Merge), promote (Promote) and
// run (Run), over a project opened once from the platform config (Open:
// store, promoter, engine). Against is the dry run of what a domain
// (production) would get if a revision were merged and promoted
// (against.go); RemoveDomain and GC clean up pull requests' own domains
// (prdomain.go). The CLI, the Action (through prbot) and the webhook server
// call these and render what they return; none of them re-implements a
// step.
//
// Layer: the pipeline (see README.md). It imports domain packages
// (registrar, packager, fastreg, promote, executor and its runners) and
// internal packages: never a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/), which call it. Only its tests import test
// kits (internal/testkit/...); internal/archtest checks this.
package flow
