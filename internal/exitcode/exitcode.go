// Package exitcode is runway's one table of exit codes, shared by the full
// CLI (cmd/internal/cli) and the front binary (cmd/internal/launcher), so
// scripts see the same code whichever binary answered. It imports nothing:
// internals import only other internals and the standard library.
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
