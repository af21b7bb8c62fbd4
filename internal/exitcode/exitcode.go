// Package exitcode is runway's one table of exit codes, shared by the full
// CLI (cmd/internal/cli) and the front binary (cmd/internal/launcher), so
// scripts see the same code whichever binary answered. It imports nothing:
// internals import only other internals and the standard library.
//
// Layer: an internal package (see README.md). It imports the standard
// library, third-party modules and other internal packages only: never a
// domain package, never flow, a presentation package (prbot, ui) or an entry
// point (cmd/, action/, server/). Only its tests import test kits
// (internal/testkit/...); internal/archtest checks this.
package exitcode

// Exit codes. Scripts may rely on them.
const (
	OK       = 0
	Error    = 1 // anything else
	Usage    = 2 // bad flags or arguments
	Invalid  = 3 // runway.yaml or inputs failed validation
	Conflict = 4 // an immutable entity exists with other content
	Failed   = 5 // an execution ran and failed
	Refused  = 6 // promotion policy refused, or verification found tampering
)
